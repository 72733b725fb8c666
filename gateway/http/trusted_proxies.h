#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecommerce::gateway {

// An IPv4 or IPv6 address, IPv4 kept as IPv4-mapped IPv6 (::ffff:a.b.c.d) so that one comparison
// serves both families and a dual-stack socket's mapped peers match IPv4 ranges.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool ipv4 = false;

  // "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; nullopt for anything else (no ports, no
  // brackets, no zone).
  static std::optional<IpAddress> Parse(absl::string_view text);
  // Canonical text: dotted quad for IPv4 (and IPv4-mapped IPv6), RFC 5952 for IPv6.
  std::string ToString() const;
};

// An address range in CIDR notation ("10.0.0.0/8", "fd00::/8"; a bare address is one host).
struct IpNetwork {
  IpAddress base;    // with the host bits cleared
  int prefix = 128;  // in the IPv6 form: an IPv4 /n is 96 + n

  // INVALID_ARGUMENT naming the entry when malformed (bad address, prefix out of range, host bits
  // set past the prefix).
  static absl::StatusOr<IpNetwork> Parse(absl::string_view cidr);
  bool Contains(const IpAddress& address) const;
};

// Which peers may tell the gateway who the client is (LC_GATEWAY_TRUSTED_PROXIES), and the client
// address of a request. Immutable after parsing; thread-safe.
class TrustedProxies final {
 public:
  TrustedProxies() = default;  // trusts nobody
  // A comma-separated list of CIDRs (spaces allowed, empty entries not). INVALID_ARGUMENT naming
  // `variable` and the entry when one is malformed.
  static absl::StatusOr<TrustedProxies> Parse(
      absl::string_view list, absl::string_view variable = "LC_GATEWAY_TRUSTED_PROXIES");

  bool empty() const { return networks_.empty(); }
  bool Trusts(const IpAddress& address) const;

  // The client's address for a request from TCP peer `peer` carrying the X-Forwarded-For header
  // fields `forwarded_for` (in the order received; each may list several addresses). When the peer
  // is not trusted the header is ignored and the answer is the peer. Otherwise the addresses are
  // read from the right: the first one that is not a trusted proxy is the client; when every one
  // is trusted, the left-most; a malformed entry (a client may write anything) stops the walk at
  // the proxy that passed it on. Addresses are answered in canonical text; a peer that does not
  // parse is answered as given.
  std::string ClientAddress(absl::string_view peer,
                            const std::vector<absl::string_view>& forwarded_for) const;

 private:
  std::vector<IpNetwork> networks_;
};

// LC_GATEWAY_TRUSTED_PROXIES (default empty: trust nobody).
absl::StatusOr<TrustedProxies> LoadTrustedProxies();

}  // namespace livecommerce::gateway
