// Cluster labels from what the members share (docs/search.md#cluster-labels): dates, place,
// camera, lens, keywords, dominant colours. Kept apart from the k-means so that unit tests can
// check the rules on hand-made members.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "viewfinder/search.h"

namespace vf::search {

// What a label may say about one photo.
struct MemberFacts {
  int64_t capture_unix = 0;  // 0: no capture date (a file time is not one)
  std::string camera;        // "Canon EOS 5D" ("" unknown)
  std::string lens;
  std::optional<double> lat, lon;
  std::vector<std::string> keywords;
  std::vector<std::string> colours;  // its dominant colour names, strongest first (<= 2)
};

// "Canon" + "Canon EOS 5D" -> "Canon EOS 5D"; "NIKON CORPORATION" + "NIKON D800E" -> "NIKON D800E".
std::string camera_name(const std::string& make, const std::string& model);

// The colour word of an RGB colour (0..255): "red", "orange", "yellow", "green", "teal",
// "blue", "purple", "pink", "brown", "black", "grey", "white".
std::string colour_name(int r, int g, int b);
// A photo's dominant colour names from its 8x8x8 histogram (index r*64+g*8+b): the names that
// hold at least 20% of the pixels, strongest first, at most two.
std::vector<std::string> dominant_colours(const float* hist512);

// The facts most members share, in label order; a fact needs at least half of the members.
std::vector<ClusterFact> shared_facts(const std::vector<const MemberFacts*>& members);
// The facts joined by " · ", or "no shared metadata".
std::string label_from_facts(const std::vector<ClusterFact>& facts);

}  // namespace vf::search
