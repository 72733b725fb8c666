#include "gateway/http/static_files.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace livecommerce::gateway {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lc-static-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "dist" / "assets");
    Write("dist/index.html", "<html>app</html>");
    Write("dist/assets/app-1a2b.js", "console.log(1)");
    Write("secret.txt", "outside the served folder");
    fs::create_symlink(root_ / "secret.txt", root_ / "dist" / "linked.txt");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name) << text;
  }
  StaticFiles Load() {
    auto files = StaticFiles::Load((root_ / "dist").string(), "/console");
    EXPECT_TRUE(files.ok()) << files.status();
    return *std::move(files);
  }
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesFilesWithTheirTypeAndIndexForTheAppsRoutes) {
  StaticFiles files = Load();
  EXPECT_EQ(files.size(), 2u);  // the symbolic link is not read
  const StaticFiles::File* js = files.Find("/console/assets/app-1a2b.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(*js->body, "console.log(1)");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  for (const char* path : {"/console", "/console/", "/console/finance/statements"}) {
    const StaticFiles::File* index = files.Find(path);
    ASSERT_NE(index, nullptr) << path;
    EXPECT_EQ(*index->body, "<html>app</html>") << path;
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  }
}

TEST_F(StaticFilesTest, NothingOutsideTheFolderOrThePrefix) {
  StaticFiles files = Load();
  EXPECT_FALSE(files.Covers("/consoles"));
  EXPECT_FALSE(files.Covers("/v1/rooms"));
  EXPECT_TRUE(files.Covers("/console/x"));
  for (const char* path :
       {"/console/../secret.txt", "/console/linked.txt", "/console/assets/missing.js",
        "/console/%2e%2e/secret.txt", "/v1/index.html", "/console/assets/../../secret.txt"}) {
    EXPECT_EQ(files.Find(path), nullptr) << path;
  }
}

TEST_F(StaticFilesTest, RefusesAMissingFolderAndTooManyBytes) {
  EXPECT_FALSE(StaticFiles::Load((root_ / "nope").string(), "/console").ok());
  EXPECT_FALSE(StaticFiles::Load((root_ / "dist").string(), "/console", 10).ok());
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(ContentTypeOf("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("a.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeOf("a"), "application/octet-stream");
}

}  // namespace
}  // namespace livecommerce::gateway
