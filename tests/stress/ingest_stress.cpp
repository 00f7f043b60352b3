// Concurrency stress for the ingestion stage: N threads run vf::ingest_file (decode with
// libvips / LibRaw / libheif, metadata with exiv2, thumbnails, features, model input) over
// the same list of files, R rounds, the way the indexer's decode workers do. Built with
// ThreadSanitizer or ASan by tests/slow/stress_index.sh; a data race or heap error is fatal
// there. Usage: vf_ingest_stress THREADS ROUNDS FILE...   (or a single @LIST file of paths)
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "viewfinder/image.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s THREADS ROUNDS FILE... | @LIST\n", argv[0]);
    return 2;
  }
  const int threads = std::max(1, std::atoi(argv[1]));
  const int rounds = std::max(1, std::atoi(argv[2]));
  std::vector<std::string> files;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 1 && a[0] == '@') {
      std::ifstream in(a.substr(1));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) files.push_back(line);
    } else {
      files.push_back(a);
    }
  }
  vf::IngestParams params;  // the indexer's defaults: model input 224, thumbnail, preview, features
  std::atomic<size_t> next{0}, ok{0}, failed{0};
  const size_t total = files.size() * static_cast<size_t>(rounds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < total;) {
        try {
          vf::IngestedPhoto p = vf::ingest_file(files[i % files.size()], params);
          ok += p.model_input.empty() ? 0 : 1;
        } catch (const std::exception&) {
          ++failed;  // unreadable files are part of the mix; only memory errors matter here
        }
      }
    });
  for (auto& w : workers) w.join();
  std::printf("ingest_stress: %zu files x %d rounds on %d threads: %zu ok, %zu failed\n",
              files.size(), rounds, threads, ok.load(), failed.load());
  return 0;
}
