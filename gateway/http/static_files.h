#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecommerce::gateway {

// A built web app (the console) read once at start and served from memory under a path prefix.
// Only files found at load time are ever served, so no request path can reach outside the
// folder. A path under the prefix that names no file and has no extension is the app's own route:
// it gets index.html, whose router takes over.
class StaticFiles final {
 public:
  struct File {
    std::string content_type;
    std::shared_ptr<const std::string> body;
  };

  // Every regular file under `root` (symbolic links are skipped); at most `max_bytes` in all.
  static absl::StatusOr<StaticFiles> Load(const std::string& root, std::string prefix,
                                          size_t max_bytes = 64 << 20);

  // Whether `path` (no query) is under the prefix: "/console" or "/console/...".
  bool Covers(absl::string_view path) const;
  // The file for a covered path; nullptr when there is none.
  const File* Find(absl::string_view path) const;
  size_t size() const { return files_.size(); }

 private:
  std::string prefix_;
  std::map<std::string, File, std::less<>> files_;  // by path relative to root, "assets/app.js"
};

// The Content-Type for a file name, by its extension.
std::string ContentTypeOf(absl::string_view name);

}  // namespace livecommerce::gateway
