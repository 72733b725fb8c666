#include "gateway/http/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::gateway {

namespace fs = std::filesystem;

std::string ContentTypeOf(absl::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"}};
  size_t dot = name.rfind('.');
  if (dot != absl::string_view::npos) {
    auto found = kTypes.find(name.substr(dot));
    if (found != kTypes.end()) return found->second;
  }
  return "application/octet-stream";
}

absl::StatusOr<StaticFiles> StaticFiles::Load(const std::string& root, std::string prefix,
                                              size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("'", root, "' is not a folder"));
  }
  StaticFiles files;
  files.prefix_ = std::move(prefix);
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_symlink() || !it->is_regular_file()) continue;
    std::string relative = fs::relative(it->path(), root).generic_string();
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    total += body.str().size();
    if (total > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", root, "' holds more than ", max_bytes, " bytes"));
    }
    files.files_[relative] =
        File{ContentTypeOf(relative), std::make_shared<const std::string>(body.str())};
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat("'", root, "': ", ec.message()));
  return files;
}

bool StaticFiles::Covers(absl::string_view path) const {
  return path == prefix_ || (absl::StartsWith(path, prefix_) && path.size() > prefix_.size() &&
                             path[prefix_.size()] == '/');
}

const StaticFiles::File* StaticFiles::Find(absl::string_view path) const {
  if (!Covers(path)) return nullptr;
  absl::string_view relative = path.substr(std::min(path.size(), prefix_.size() + 1));
  if (relative.empty()) relative = "index.html";
  auto found = files_.find(relative);
  if (found != files_.end()) return &found->second;
  // The app's own routes ("/console/finance/statements") have no extension.
  size_t slash = relative.rfind('/');
  absl::string_view last = slash == absl::string_view::npos ? relative : relative.substr(slash + 1);
  if (absl::StrContains(last, '.')) return nullptr;
  found = files_.find("index.html");
  return found != files_.end() ? &found->second : nullptr;
}

}  // namespace livecommerce::gateway
