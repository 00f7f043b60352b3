// Region search and query tokens for the search routes (implemented in routes_explain.cpp).
#pragma once

#include <optional>

#include "server/server_state.h"
#include "viewfinder/explain.h"

namespace vf::server {

// The generation's Explainer, reading only files that resolve inside its library roots (a
// photo that does not is logged and keeps its first-stage score in a region search).
Explainer& explainer(ServerState& s, Generation& g);

// The `region` member of a search request: [x, y, w, h] or "x,y,w,h"; nullopt when absent.
std::optional<Region> region_from_json(const json& q);

// Runs `q` for `region` of its single query picture (one upload or one id); 400 when the
// query has more or fewer pictures. region_ms: time spent on the region stage.
SearchResults region_search(ServerState& s, Generation& g, int slot, const SearchQuery& q, const Region& region,
                            double& region_ms);

}  // namespace vf::server
