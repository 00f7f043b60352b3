// viewfinder serve: the HTTP API and web UI over one library.
#include <cstdlib>
#include <iostream>

#include "cli.h"
#include "mirror_option.h"
#include "store_option.h"
#include "viewfinder/server.h"
#include "viewfinder/viewfinder.h"

namespace {

// serve --reader: the library mirrors a collection other machines fill. Its paths come from
// them, so files are served only under the roots the user names here.
void start_reader(const vf::cli::Args& args, vf::ServerParams& p) {
  vf::MirrorParams params = vf::cli::mirror_params(args, "serve --reader", p.library_dir, p.engine.model_dir);
  if (!args.has("root") && p.roots.empty())
    throw vf::Error("serve --reader needs --root DIR: the folder(s) holding the collection's photos on this machine "
                    "(its paths are written by other machines, mapped by --path-map; nothing outside --root is "
                    "served)",
                    vf::ErrorCode::InvalidArgument);
  params.roots = args.has("root") ? args.get_all("root") : p.roots;
  vf::cli::ProgressLine bar;
  params.progress = vf::cli::sync_progress(bar);
  const vf::MirrorReport r = vf::mirror_collection(p.library_dir, params);
  bar.finish();
  std::cerr << "reader " << p.library_dir << " mirrors " << params.store << ": " << vf::mirror_summary(r) << "\n";
  p.reader_refresh_s = args.get_double("refresh-s");
  if (p.reader_refresh_s < 0) throw vf::Error("--refresh-s must be >= 0", vf::ErrorCode::InvalidArgument);
}

int run_serve(int argc, char** argv) {
  vf::cli::Args args("serve", "", "Serve the web UI and the JSON API for a library.");
  args.option("library", "DIR", "the library to serve (default: $VIEWFINDER_LIBRARY or the default library)")
      .alias('l');
  args.option("config", "FILE", "JSON config file with the same settings (see docs/api.md); flags override it");
  args.option("host", "ADDR", "address to listen on", "127.0.0.1");
  args.option("port", "N", "port to listen on (0: any free port)", "7860").alias('p');
  args.option("token", "T", "require 'Authorization: Bearer T' (prefer the config file or $VIEWFINDER_TOKEN: "
                            "arguments show in ps)");
  args.option("basic-auth", "USER:PASS", "require HTTP basic authentication");
  args.flag("allow-insecure-remote", "allow a non-loopback --host without authentication");
  args.option("tls-cert", "FILE", "PEM certificate: serve HTTPS");
  args.option("tls-key", "FILE", "PEM private key for --tls-cert");
  args.option("max-concurrent", "N", "searches running at once", "2");
  args.option("max-queue", "N", "searches waiting beyond those; more get 503 + Retry-After", "16");
  args.option("max-upload-mb", "N", "largest request body / uploaded image", "50");
  args.multi("root", "DIR", "a directory whose indexed photos may be served and re-indexed "
                            "(default: the folders of the photos in the catalog)");
  args.option("model", "DIR", "model for uploaded-image queries (default: the library's)");
  args.option("web-root", "DIR", "serve the UI from DIR instead of the installed assets");
  args.option("log", "FILE", "append the request log to FILE instead of stderr");
  args.option("threads", "N", "HTTP worker threads (0: max-concurrent + max-queue + 48)", "0");
  args.option("max-upload-mp", "N", "largest uploaded image in megapixels (decompression-bomb guard)", "200");
  args.multi("allowed-host", "NAME", "a host name clients may use in Host besides localhost and the listen "
                                     "address (DNS-rebinding guard; * turns the check off)");
  args.option("header-timeout-s", "S", "a request's line and headers must arrive within S seconds", "10");
  args.option("max-connections-per-ip", "N", "open connections one client address may hold (0: no cap)", "16");
  args.option("max-upload-decodes", "N", "image-upload searches decoding at once (their own queue lane)", "1");
  args.epilog(
      "Listens on 127.0.0.1:7860 by default. Listening on another address (e.g. 0.0.0.0 for the\n"
      "studio network) needs a token or basic auth, or --allow-insecure-remote. For HTTPS put\n"
      "nginx in front (docs/deploy.md) or pass --tls-cert/--tls-key.\n\n"
      "examples:\n"
      "  viewfinder serve --library ~/photos-lib\n"
      "  VIEWFINDER_TOKEN=$(openssl rand -hex 16) viewfinder serve --host 0.0.0.0\n"
      "  viewfinder serve --config /etc/viewfinder/server.json\n");
  vf::cli::add_store_option(args);
  args.flag("reader", "serve a reader library: DIR mirrors the --store collection (viewfinder mirror), "
                      "synced at start (progress on stderr); files are served only under --root (required), "
                      "at the paths --path-map gives");
  args.option("refresh-s", "S", "with --reader: sync from the collection every S seconds (0: at start and on "
                                "POST /api/index only); each sync logs one summary line", "0");
  vf::cli::add_path_map_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    vf::ServerParams p;
    p.library_dir = vf::default_library_dir();
    if (const char* t = std::getenv("VIEWFINDER_TOKEN"); t && *t) p.auth_token = t;
    if (args.has("config")) vf::load_server_config(args.get("config"), p);
    if (args.has("library")) p.library_dir = args.get("library");
    if (args.has("model")) p.engine.model_dir = args.get("model");
    if (args.has("path-map") && !args.has("reader"))
      throw vf::Error("--path-map maps a reader's paths: use it with serve --reader (or viewfinder mirror)",
                      vf::ErrorCode::InvalidArgument);
    if (args.has("reader")) start_reader(args, p);
    else vf::cli::remember_store_option(args, p.library_dir);
    if (args.has("host") || !args.has("config")) p.host = args.get("host");
    if (args.has("port") || !args.has("config")) p.port = args.get_int("port");
    if (args.has("token")) p.auth_token = args.get("token");
    if (args.has("basic-auth")) {
      std::string ba = args.get("basic-auth");
      auto colon = ba.find(':');
      if (colon == std::string::npos || colon == 0)
        throw vf::Error("--basic-auth wants USER:PASS", vf::ErrorCode::InvalidArgument);
      p.basic_user = ba.substr(0, colon);
      p.basic_password = ba.substr(colon + 1);
    }
    if (args.has("allow-insecure-remote")) p.allow_unauthenticated_remote = true;
    if (args.has("tls-cert")) p.tls_cert = args.get("tls-cert");
    if (args.has("tls-key")) p.tls_key = args.get("tls-key");
    if (args.has("max-concurrent") || !args.has("config")) p.max_concurrent = args.get_int("max-concurrent");
    if (args.has("max-queue") || !args.has("config")) p.max_queue = args.get_int("max-queue");
    if (args.has("max-upload-mb") || !args.has("config")) {
      int64_t mb = args.get_int64("max-upload-mb");
      if (mb < 1 || mb > 4096) throw vf::Error("--max-upload-mb must be in [1, 4096]", vf::ErrorCode::InvalidArgument);
      p.max_upload_bytes = mb << 20;
    }
    if (args.has("root")) p.roots = args.get_all("root");
    if (args.has("web-root")) p.web_root = args.get("web-root");
    if (args.has("log")) p.log_file = args.get("log");
    if (args.has("threads")) p.threads = args.get_int("threads");
    if (args.has("max-upload-mp")) {
      int64_t mp = args.get_int64("max-upload-mp");
      if (mp < 1 || mp > 250) throw vf::Error("--max-upload-mp must be in [1, 250]", vf::ErrorCode::InvalidArgument);
      p.max_upload_pixels = mp * 1'000'000;
    }
    if (args.has("allowed-host"))
      for (auto& h : args.get_all("allowed-host")) p.allowed_hosts.push_back(h);
    if (args.has("header-timeout-s")) p.header_timeout_s = args.get_double("header-timeout-s");
    if (args.has("max-connections-per-ip")) p.max_connections_per_ip = args.get_int("max-connections-per-ip");
    if (args.has("max-upload-decodes")) p.max_upload_decodes = args.get_int("max-upload-decodes");
    return vf::serve(p);
  });
}

VF_COMMAND("serve", "serve the web UI and JSON API (search, duplicates, clusters)", run_serve);

}  // namespace
