// The API routes, one file per resource; each registers its routes with the table.
#pragma once

#include "server/http_server.h"

namespace vf::server {

void add_search_routes(RouteTable& routes);      // routes_search.cpp: /api/search...
void add_photo_routes(RouteTable& routes);       // routes_photos.cpp: /api/photos..., /api/examples
void add_library_routes(RouteTable& routes);     // routes_library.cpp: stats, index, health, openapi
void add_duplicate_routes(RouteTable& routes);   // routes_duplicates.cpp: /api/duplicates
void add_cluster_routes(RouteTable& routes);     // routes_clusters.cpp: /api/clusters
void add_stack_routes(RouteTable& routes);       // routes_stacks.cpp: /api/stacks

}  // namespace vf::server
