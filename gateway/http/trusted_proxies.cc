#include "gateway/http/trusted_proxies.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/config.h"

namespace livecommerce::gateway {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// An X-Forwarded-For entry may carry a port ("192.0.2.1:5678", "[2001:db8::1]:443"): the address
// without it.
absl::string_view WithoutPort(absl::string_view entry) {
  if (!entry.empty() && entry.front() == '[') {
    size_t close = entry.find(']');
    return close == absl::string_view::npos ? absl::string_view() : entry.substr(1, close - 1);
  }
  size_t colon = entry.find(':');
  if (colon != absl::string_view::npos && entry.find(':', colon + 1) == absl::string_view::npos) {
    return entry.substr(0, colon);  // one colon: IPv4 with a port (IPv6 has at least two)
  }
  return entry;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress a;
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memcpy(a.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
    std::memcpy(a.bytes.data() + 12, &v4, 4);
    a.ipv4 = true;
    return a;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    a.ipv4 = std::memcmp(a.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char out[INET6_ADDRSTRLEN] = {};
  if (ipv4) {
    inet_ntop(AF_INET, bytes.data() + 12, out, sizeof(out));
  } else {
    inet_ntop(AF_INET6, bytes.data(), out, sizeof(out));
  }
  return out;
}

absl::StatusOr<IpNetwork> IpNetwork::Parse(absl::string_view cidr) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("'", cidr, "': ", why));
  };
  size_t slash = cidr.find('/');
  absl::string_view address_text = cidr.substr(0, slash);
  std::optional<IpAddress> address = IpAddress::Parse(address_text);
  if (!address.has_value()) return invalid("not an IPv4 or IPv6 address");
  // A network written in IPv4 counts its prefix in IPv4 bits.
  bool written_as_ipv4 = address_text.find(':') == absl::string_view::npos;
  int max_prefix = written_as_ipv4 ? 32 : 128;
  int prefix = max_prefix;
  if (slash != absl::string_view::npos) {
    absl::string_view prefix_text = cidr.substr(slash + 1);
    if (prefix_text.empty() || prefix_text.size() > 3 ||
        !std::all_of(prefix_text.begin(), prefix_text.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
        !absl::SimpleAtoi(prefix_text, &prefix) || prefix > max_prefix) {
      return invalid(absl::StrCat("the prefix length must be 0 to ", max_prefix));
    }
  }
  IpNetwork network;
  network.base = *address;
  network.prefix = written_as_ipv4 ? 96 + prefix : prefix;
  for (int bit = network.prefix; bit < 128; ++bit) {
    if (network.base.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return invalid("host bits are set past the prefix length");
    }
  }
  return network;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  int full = prefix / 8;
  if (std::memcmp(address.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) {
    return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (base.bytes[full] & mask);
}

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(absl::string_view list,
                                                     absl::string_view variable) {
  TrustedProxies proxies;
  if (absl::StripAsciiWhitespace(list).empty()) return proxies;
  for (absl::string_view entry : absl::StrSplit(list, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(variable, ": an empty entry (a comma-separated list of CIDRs)"));
    }
    absl::StatusOr<IpNetwork> network = IpNetwork::Parse(entry);
    if (!network.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(variable, ": ", network.status().message()));
    }
    proxies.networks_.push_back(*network);
  }
  return proxies;
}

bool TrustedProxies::Trusts(const IpAddress& address) const {
  for (const IpNetwork& network : networks_) {
    if (network.Contains(address)) return true;
  }
  return false;
}

std::string TrustedProxies::ClientAddress(
    absl::string_view peer, const std::vector<absl::string_view>& forwarded_for) const {
  std::optional<IpAddress> hop = IpAddress::Parse(peer);
  if (!hop.has_value()) return std::string(peer);
  if (networks_.empty() || !Trusts(*hop)) return hop->ToString();
  std::vector<absl::string_view> entries;
  for (absl::string_view field : forwarded_for) {
    for (absl::string_view entry : absl::StrSplit(field, ',')) {
      entries.push_back(absl::StripAsciiWhitespace(entry));
    }
  }
  // `hop` is trusted here: it told us who connected to it.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->empty()) continue;
    std::optional<IpAddress> previous = IpAddress::Parse(WithoutPort(*it));
    if (!previous.has_value()) break;
    hop = previous;
    if (!Trusts(*hop)) break;
  }
  return hop->ToString();
}

absl::StatusOr<TrustedProxies> LoadTrustedProxies() {
  return TrustedProxies::Parse(common::EnvString("LC_GATEWAY_TRUSTED_PROXIES", ""));
}

}  // namespace livecommerce::gateway
