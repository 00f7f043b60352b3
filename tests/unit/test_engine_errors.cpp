// A missing, truncated or mismatched model directory must give vf::Error(BadModel) that names
// the file and the problem, never a crash. Broken copies of the golden tiny model are
// written to a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "viewfinder/engine.h"
#include "viewfinder/error.h"
#include "viewfinder/library.h"

namespace fs = std::filesystem;

namespace {

const fs::path kTiny = fs::path(VF_SHARED_DIR) / "golden/models/tiny";

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_all(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

class BrokenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vf_engine_errors_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* f : {"config.json", "model.safetensors", "preprocessor_config.json"})
      fs::copy_file(kTiny / f, dir_ / f);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Expects both inspect_model and Engine::open to fail with BadModel mentioning `needle`.
  void expect_bad(const std::string& needle, const std::string& file = "model.safetensors") {
    for (int which = 0; which < 2; ++which) {
      SCOPED_TRACE(which == 0 ? "inspect_model" : "Engine::open");
      try {
        if (which == 0) {
          vf::inspect_model(dir_.string(), false);
        } else {
          vf::EngineParams p;
          p.model_dir = dir_.string();
          p.precision = vf::Precision::FP32;
          vf::Engine::open(p);
        }
        ADD_FAILURE() << "no error for a broken model";
      } catch (const vf::Error& e) {
        EXPECT_EQ(e.code(), vf::ErrorCode::BadModel) << e.what();
        const std::string msg = e.what();
        EXPECT_NE(msg.find(file), std::string::npos) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "one-line message expected: " << msg;
      }
    }
  }
  fs::path dir_;
};

TEST_F(BrokenModel, IntactCopyLoads) {
  const auto info = vf::inspect_model(dir_.string(), true);
  EXPECT_EQ(info.model_type, "dinov2");
  EXPECT_EQ(info.hidden_size, 64);
  EXPECT_EQ(info.num_parameters, 225856);
  EXPECT_EQ(info.dtype, "F32");
  EXPECT_EQ(info.sha256, "83d761aff1d45cb830432b2a8c0afe4c14c450e3f12bdcb84ae4da8269ff806d");
  EXPECT_EQ(info.crop_size, 224);
  EXPECT_EQ(info.resize_shortest_edge, 256);
}

TEST_F(BrokenModel, TruncatedData) {
  const std::string s = read_all(dir_ / "model.safetensors");
  write_all(dir_ / "model.safetensors", s.substr(0, s.size() - 1000));
  expect_bad("truncated");
}

TEST_F(BrokenModel, TruncatedHeader) {
  const std::string s = read_all(dir_ / "model.safetensors");
  write_all(dir_ / "model.safetensors", s.substr(0, 100));
  expect_bad("truncated");
}

TEST_F(BrokenModel, TinyFile) {
  write_all(dir_ / "model.safetensors", "abc");
  expect_bad("truncated");
}

TEST_F(BrokenModel, GarbageHeader) {
  std::string s = read_all(dir_ / "model.safetensors");
  for (int i = 8; i < 40; ++i) s[i] = '#';
  write_all(dir_ / "model.safetensors", s);
  expect_bad("JSON");
}

TEST_F(BrokenModel, MissingWeights) {
  fs::remove(dir_ / "model.safetensors");
  expect_bad("cannot open");
}

TEST_F(BrokenModel, MissingConfig) {
  fs::remove(dir_ / "config.json");
  expect_bad("missing", "config.json");
}

TEST_F(BrokenModel, ConfigDoesNotMatchWeights) {
  auto cfg = nlohmann::json::parse(read_all(dir_ / "config.json"));
  cfg["hidden_size"] = 128;
  cfg["num_attention_heads"] = 4;
  write_all(dir_ / "config.json", cfg.dump());
  expect_bad("shape");
}

TEST_F(BrokenModel, MoreLayersThanWeights) {
  auto cfg = nlohmann::json::parse(read_all(dir_ / "config.json"));
  cfg["num_hidden_layers"] = 3;
  write_all(dir_ / "config.json", cfg.dump());
  expect_bad("missing tensor 'encoder.layer.2.");
}

TEST_F(BrokenModel, UnsupportedModelType) {
  auto cfg = nlohmann::json::parse(read_all(dir_ / "config.json"));
  cfg["model_type"] = "vit";
  write_all(dir_ / "config.json", cfg.dump());
  expect_bad("model_type", "config.json");
}

TEST_F(BrokenModel, OffsetsOutsideFile) {
  // Rewrite one tensor's end offset beyond the data region, keeping the header length.
  std::string s = read_all(dir_ / "model.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(s[i]);
  std::string header = s.substr(8, n);
  auto j = nlohmann::json::parse(header);
  j.erase("__metadata__");  // room for the longer number in the same header length
  j["layernorm.bias"]["data_offsets"][1] = 999999999;
  std::string h2 = j.dump();
  ASSERT_LE(h2.size(), n);
  h2.resize(n, ' ');
  write_all(dir_ / "model.safetensors", s.substr(0, 8) + h2 + s.substr(8 + n));
  expect_bad("layernorm.bias");
}

TEST(ModelErrors, MissingDirectory) {
  try {
    vf::inspect_model("/nonexistent/vf-model", false);
    FAIL();
  } catch (const vf::Error& e) {
    EXPECT_EQ(e.code(), vf::ErrorCode::BadModel);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vf-model"), std::string::npos);
  }
}

// Model identity is cached by (path, size, mtime, inode): a second open reads the cache, and
// a file that changed is hashed again.
TEST_F(BrokenModel, Sha256IsCachedByFileIdentity) {
  const fs::path cache = dir_ / "cache";
  setenv("VF_CACHE_DIR", cache.c_str(), 1);
  const std::string real = vf::inspect_model(dir_.string(), true).sha256;
  ASSERT_EQ(real.size(), 64u);
  const fs::path list = cache / "model-sha256.tsv";
  std::string text = read_all(list);
  ASSERT_NE(text.find(real), std::string::npos) << text;
  // Plant a different hash under the same key: the next open must take it from the cache.
  const std::string planted(64, 'a');
  text.replace(text.find(real), 64, planted);
  write_all(list, text);
  EXPECT_EQ(vf::inspect_model(dir_.string(), true).sha256, planted);
  // A new mtime invalidates the entry: the file is hashed again.
  fs::last_write_time(dir_ / "model.safetensors", fs::last_write_time(dir_ / "model.safetensors") + std::chrono::seconds(5));
  EXPECT_EQ(vf::inspect_model(dir_.string(), true).sha256, real);
  EXPECT_EQ(read_all(list).find(planted), std::string::npos);
  unsetenv("VF_CACHE_DIR");
}

// The byte offset of cache entry `name`'s data in packed-weights cache file contents `f`
// (format: src/model/packed_cache.cpp), or npos.
size_t packed_entry_offset(const std::string& f, const std::string& name) {
  auto get = [&f](size_t& pos, auto v) {
    std::memcpy(&v, f.data() + pos, sizeof(v));
    pos += sizeof(v);
    return v;
  };
  size_t pos = 8;  // magic
  const uint64_t count = get(pos, uint64_t{});
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t len = get(pos, uint32_t{});
    const std::string entry = f.substr(pos, len);
    pos += len;
    const uint64_t offset = get(pos, uint64_t{});
    get(pos, uint64_t{});  // size
    pos += get(pos, uint32_t{});  // descriptor
    if (entry == name) return offset;
  }
  return std::string::npos;
}

class EnginePackedCache : public BrokenModel {
 protected:
  void SetUp() override {
    BrokenModel::SetUp();
    setenv("VF_CACHE_DIR", (dir_ / "cache").c_str(), 1);
    p_.model_dir = dir_.string();
    p_.threads = 1;
    px_.resize(3 * 28 * 42);
    for (size_t i = 0; i < px_.size(); ++i) px_[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
  }
  void TearDown() override {
    unsetenv("VF_PACKED_CACHE");
    unsetenv("VF_CACHE_DIR");
    BrokenModel::TearDown();
  }
  std::vector<float> pooled() { return vf::Engine::open(p_)->embed(px_.data(), 1, 28, 42, vf::Pooling::CLS); }
  std::vector<fs::path> files() {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "cache" / "packed", ec)) out.push_back(e.path());
    return out;
  }
  // A second open maps the first one's packing and computes exactly the same; a truncated or
  // garbage cache file is a miss that is rewritten, never an error or a wrong result;
  // VF_PACKED_CACHE=0 computes the same without the cache and writes none. Returns the file.
  fs::path expect_exact_and_survives_damage(vf::Precision precision, const std::string& tag) {
    p_.precision = precision;
    const std::vector<float> first = pooled();  // no cache file yet
    const auto found = files();
    EXPECT_EQ(found.size(), 1u);
    if (found.size() != 1) return {};
    const fs::path file = found[0];
    EXPECT_NE(file.filename().string().find(tag), std::string::npos) << file;
    const auto written = fs::last_write_time(file);
    const auto size = fs::file_size(file);
    EXPECT_EQ(pooled(), first);
    EXPECT_EQ(fs::last_write_time(file), written) << "a matching cache file must be used, not rewritten";
    fs::resize_file(file, size / 2);
    EXPECT_EQ(pooled(), first);
    EXPECT_EQ(fs::file_size(file), size) << "a truncated cache file is rewritten";
    write_all(file, std::string(size, '\x5a'));
    EXPECT_EQ(pooled(), first);
    EXPECT_NE(read_all(file), std::string(size, '\x5a'));
    setenv("VF_PACKED_CACHE", "0", 1);
    fs::remove(file);
    EXPECT_EQ(pooled(), first);
    EXPECT_FALSE(fs::exists(file)) << "VF_PACKED_CACHE=0 writes no cache";
    unsetenv("VF_PACKED_CACHE");
    return file;
  }
  vf::EngineParams p_;
  std::vector<float> px_;
};

// The packed-weights cache (src/model/packed_cache.h) in fp32.
TEST_F(EnginePackedCache, Fp32IsExactAndSurvivesDamage) { expect_exact_and_survives_damage(vf::Precision::FP32, "-fp32-"); }

// int8 caches its quantised weights and calibration results too (the file name carries the
// smoothing strength and calibration version). The first load of each check above is uncached,
// so a cached int8 load is bit-identical to an uncached one.
TEST_F(EnginePackedCache, Int8IsExactAndSurvivesDamage) {
  const fs::path file = expect_exact_and_survives_damage(vf::Precision::INT8, "-int8-sq0.5-cal1-");
  ASSERT_FALSE(file.empty());
  // Proof that a cached load takes its calibration results from the file rather than
  // recomputing them: change layer 0's fc2 weight scales in the file (its header stays
  // valid) and the embedding changes, and the file is not rewritten.
  const std::vector<float> clean = pooled();  // writes the cache again
  std::string f = read_all(file);
  const size_t at = packed_entry_offset(f, "encoder.layer.0.fc2.wscale");
  ASSERT_NE(at, std::string::npos);
  for (size_t i = 0; i < 16; ++i) {
    float v;
    std::memcpy(&v, &f[at + 4 * i], 4);
    v *= 4.0f;
    std::memcpy(&f[at + 4 * i], &v, 4);
  }
  write_all(file, f);
  EXPECT_NE(pooled(), clean) << "the int8 cache was not used";
  EXPECT_TRUE(read_all(file) == f) << "a matching int8 cache file must be used, not rewritten";
}

TEST(ModelErrors, ParseNames) {
  EXPECT_EQ(vf::parse_precision("bf16"), vf::Precision::BF16);
  EXPECT_EQ(vf::parse_pooling("patch-mean"), vf::Pooling::PatchMean);
  EXPECT_THROW(vf::parse_precision("fp8"), vf::Error);
  EXPECT_THROW(vf::parse_pooling("max"), vf::Error);
  EXPECT_STREQ(vf::to_string(vf::Pooling::CLS), "cls");
  EXPECT_GE(vf::physical_core_count(), 1);
}

TEST(ModelErrors, BadInputSize) {
  vf::EngineParams p;
  p.model_dir = kTiny.string();
  p.threads = 1;
  auto e = vf::Engine::open(p);
  std::vector<float> px(3 * 10 * 10, 0.f);
  EXPECT_THROW(e->forward(px.data(), 1, 10, 10, {}), vf::Error);
  EXPECT_THROW(e->forward(px.data(), 0, 224, 224, {}), vf::Error);
}

TEST(ModelErrors, DefaultDirsHonourEnvironment) {
  setenv("VIEWFINDER_MODEL", "/tmp/m", 1);
  EXPECT_EQ(vf::default_model_dir(), "/tmp/m");
  unsetenv("VIEWFINDER_MODEL");
  setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(vf::default_model_dir(), "/tmp/xdg/viewfinder/models/dinov2-base");
  EXPECT_EQ(vf::default_library_dir(), "/tmp/xdg/viewfinder/library");
  unsetenv("XDG_DATA_HOME");
}

}  // namespace
