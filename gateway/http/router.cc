#include "gateway/http/router.h"

#include "absl/strings/str_split.h"

namespace livecommerce::gateway {

bool Route::Allows(common::Role role) const {
  for (common::Role r : roles) {
    if (r == role) return true;
  }
  return false;
}

std::vector<common::Role> AnyUser() {
  return {common::Role::kViewer, common::Role::kAssociate, common::Role::kOps,
          common::Role::kFinance};
}

std::vector<common::Role> Roles(std::initializer_list<common::Role> roles) { return roles; }

void SplitTarget(absl::string_view target, std::string* path, std::string* query) {
  size_t q = target.find('?');
  *path = std::string(target.substr(0, q));
  *query = q == absl::string_view::npos ? "" : std::string(target.substr(q + 1));
}

bool SplitPath(absl::string_view path, std::vector<absl::string_view>* segments) {
  segments->clear();
  if (path.empty() || path[0] != '/') return false;
  if (path.size() == 1) return true;
  for (absl::string_view segment : absl::StrSplit(path.substr(1), '/')) {
    if (segment.empty() || segment.size() > 256) return false;
    for (char c : segment) {
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        return false;
      }
    }
    segments->push_back(segment);
  }
  return true;
}

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {
  for (const Route& route : routes_) {
    Compiled compiled;
    for (absl::string_view s : absl::StrSplit(absl::string_view(route.pattern).substr(1), '/')) {
      compiled.segments.emplace_back(s);
    }
    compiled_.push_back(std::move(compiled));
  }
}

RouteMatch Router::Match(absl::string_view method, absl::string_view path) const {
  RouteMatch match;
  std::vector<absl::string_view> segments;
  if (!SplitPath(path, &segments)) {
    return match;
  }
  for (size_t i = 0; i < routes_.size(); ++i) {
    const std::vector<std::string>& pattern = compiled_[i].segments;
    if (pattern.size() != segments.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool same = true;
    for (size_t s = 0; s < pattern.size() && same; ++s) {
      const std::string& p = pattern[s];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params.emplace_back(p.substr(1, p.size() - 2), std::string(segments[s]));
      } else {
        same = p == segments[s];
      }
    }
    if (!same) continue;
    if (routes_[i].method != method) {
      match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
      continue;
    }
    match.outcome = RouteMatch::Outcome::kFound;
    match.route = &routes_[i];
    match.params = std::move(params);
    return match;
  }
  return match;
}

}  // namespace livecommerce::gateway
