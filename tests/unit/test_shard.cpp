// Shard workers' split of the files (src/library/shard.cpp): a partition, the same on every
// worker's mount point, and strict parsing of I/N.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "library/indexer.h"
#include "viewfinder/error.h"

using vf::detail::keep_shard;
using vf::detail::parse_shard;

static std::vector<std::string> files_under(const std::string& root, int n) {
  std::vector<std::string> files;
  for (int i = 0; i < n; ++i) files.push_back(root + "/2024/trip/image_" + std::to_string(i) + ".jpg");
  return files;
}

TEST(Shard, ThreeWorkersPartitionTheFiles) {
  const auto files = files_under("/mnt/nas/photos", 680);
  std::multiset<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto part = keep_shard(files, {"/mnt/nas/photos"}, i, 3);
    EXPECT_GT(part.size(), 680u / 3 - 60) << "shard " << i << " is badly unbalanced";
    seen.insert(part.begin(), part.end());
  }
  EXPECT_EQ(seen.size(), files.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), files.size()) << "a file in two shards";
}

TEST(Shard, SplitDependsOnThePathBelowTheRootOnly) {
  auto a = keep_shard(files_under("/mnt/nas/photos", 100), {"/mnt/nas/photos"}, 1, 3);
  auto b = keep_shard(files_under("/Volumes/photos", 100), {"/Volumes/photos"}, 1, 3);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].substr(std::string("/mnt/nas/photos").size()), b[i].substr(std::string("/Volumes/photos").size()));
  EXPECT_EQ(keep_shard(files_under("/x", 10), {"/x"}, 0, 1).size(), 10u);
}

TEST(Shard, ParsesIOverN) {
  EXPECT_EQ(parse_shard(""), std::make_pair(0, 1));
  EXPECT_EQ(parse_shard("2/3"), std::make_pair(2, 3));
  for (const char* bad : {"3/3", "-1/3", "1/0", "1", "a/3", "1/3x", "/3"}) EXPECT_THROW(parse_shard(bad), vf::Error) << bad;
}
