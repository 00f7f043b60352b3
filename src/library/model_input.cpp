#include "viewfinder/library.h"

namespace vf {

IngestParams ingest_params_for(const ModelInfo& model, IngestParams base) {
  base.model_input_size = model.crop_size;
  base.resize_shortest_edge = model.resize_shortest_edge;
  for (int c = 0; c < 3; ++c) {
    base.image_mean[c] = model.image_mean[c];
    base.image_std[c] = model.image_std[c];
  }
  return base;
}

}  // namespace vf
