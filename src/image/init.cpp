// One-time, thread-safe set-up of the decoding and metadata libraries.
#include <exiv2/exiv2.hpp>
#include <vips/vips.h>
#include <vips/vector.h>  // not included by vips.h

#include <cstdlib>
#include <mutex>

#include "image/image_internal.h"

namespace vf::image {
namespace {
void discard_log(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}

// The XMP toolkit inside exiv2 keeps global state; exiv2 documents that a multi-threaded
// program must hand XmpParser::initialize a lock, or concurrent XMP parsing (our decode
// threads) corrupts the heap.
std::mutex xmp_toolkit_mutex;
void xmp_toolkit_lock(void* data, bool lock) {
  auto* m = static_cast<std::mutex*>(data);
  if (lock)
    m->lock();
  else
    m->unlock();
}
}  // namespace

void ensure_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (vips_init("viewfinder") != 0)
      throw Error("could not initialise libvips: " + std::string(vips_error_buffer()));
    // The operation cache keeps recent results alive; we never repeat an operation, so it
    // would only grow memory across a library scan.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    // Callers parallelise across files (one decode per thread); vips worker threads inside
    // each decode would only oversubscribe the cores. VIPS_CONCURRENCY still overrides.
    if (!std::getenv("VIPS_CONCURRENCY")) vips_concurrency_set(1);
    // No ORC run-time code generation: liborc 0.4.33 (Debian 12) allocates and frees the code
    // memory of compiled programs with a race between threads (TSan: data race in
    // orc_code_free against orc_code_allocate_codemem, and a double lock of orc's mutex, while
    // our decode threads make thumbnails with libvips' reduce). Its code-chunk list is made of
    // small heap blocks, and the race corrupts the heap: the "malloc_consolidate(): unaligned
    // fastbin chunk" aborts of concurrent indexing (issue 14). libvips then uses its C loops.
    vips_vector_set_enabled(FALSE);
    // libvips/libtiff/libheif warnings about odd-but-readable files would flood a scan; real
    // failures come back as errors with their message.
    g_log_set_handler("VIPS",
                      static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                                                  G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG),
                      discard_log, nullptr);
    // exiv2 logs every malformed tag to stderr; a broken EXIF is not fatal for us.
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
    // The XMP toolkit must be initialised once, with a lock, before exiv2 is used from
    // several threads.
    Exiv2::XmpParser::initialize(xmp_toolkit_lock, &xmp_toolkit_mutex);
#ifdef EXV_ENABLE_BMFF
    Exiv2::enableBMFF(true);  // HEIC/AVIF/CR3 metadata
#endif
  });
}

}  // namespace vf::image
