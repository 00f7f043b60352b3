// The API routes, one file per resource; each registers its routes with the table.
#pragma once

#include "server/http_server.h"
#include "viewfinder/explain.h"
#include "viewfinder/search.h"

namespace vf::server {

void add_search_routes(RouteTable& routes);      // routes_search.cpp: /api/search...
void add_photo_routes(RouteTable& routes);       // routes_photos.cpp: /api/photos..., /api/examples
void add_library_routes(RouteTable& routes);     // routes_library.cpp: stats, index, health, openapi
void add_duplicate_routes(RouteTable& routes);   // routes_duplicates.cpp: /api/duplicates
void add_cluster_routes(RouteTable& routes);     // routes_clusters.cpp: /api/clusters
void add_explain_routes(RouteTable& routes);     // routes_explain.cpp: /api/explain
void add_stack_routes(RouteTable& routes);       // routes_stacks.cpp: /api/stacks
// A reader library served with reader_refresh_s > 0: syncs it from its collection every so
// often, as POST /api/index does (routes_library.cpp). ServerState's destructor stops it.
void start_reader_refresh(ServerState& s);

// The query of POST /api/search (a JSON body, a multipart form or query parameters) without
// running it; `uploads` receives the form's image parts, unchecked; `region`, when given,
// receives the region box it names (docs/api.md "Region search"). Throws HttpError or
// vf::Error on bad input (also what fuzz/fuzz_http.cpp drives).
SearchQuery search_request_query(const Request& req, std::vector<const httplib::MultipartFormData*>& uploads,
                                 std::optional<Region>* region = nullptr);

}  // namespace vf::server
