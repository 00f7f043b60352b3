// The rules every request passes before a route sees it (pre-routing, before any body is
// read): the Host allow-list against DNS rebinding, same-origin JSON for requests that are
// not reads (CSRF), body framing (a body is only read when its length is declared and under
// the limit), and the query parameters a route accepts. docs/deploy.md describes them.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "server/http_server.h"
#include "viewfinder/search.h"
#include "viewfinder/server.h"

namespace vf::server {

// 421 unless Host names this server: localhost, 127.0.0.1, [::1], the bound address, the
// address the connection arrived on, or one of params.allowed_hosts ("*": any). A website
// that rebinds its own name to 127.0.0.1 still sends its own name in Host.
std::optional<Reply> check_host(const ServerParams& params, const Request& req);

// Body framing. Transfer-Encoding (chunked) and a body-carrying method without
// Content-Length get 411, a declared length over the limit 413 and Content-Encoding 415,
// all before a byte of the body is read: cpp-httplib caps only declared lengths, so a
// chunked, unframed or gzip-inflated body could otherwise grow without bound.
std::optional<Reply> check_body_framing(const ServerParams& params, const Request& req);

// CSRF. Anything but GET/HEAD must carry Content-Type: application/json (a cross-site form
// or a "simple" fetch cannot send it without a CORS preflight, which this server never
// grants) and, when the browser sends Origin, an Origin whose host:port is the Host. The
// one exception is multipart/form-data on POST /api/search: a search with uploaded images
// that changes nothing (still same-origin when Origin is sent).
std::optional<Reply> check_same_origin(const Request& req);

// True for a metadata filter's parameter name (date_from, model, gps_bbox, ...).
bool is_filter_param(const std::string& name);

// Metadata filters from text parameters (unknown names are not filters: the caller has
// refused them already). A bad value is answered 400 naming its parameter.
Filters filters_named(const std::map<std::string, std::string>& params);

}  // namespace vf::server
