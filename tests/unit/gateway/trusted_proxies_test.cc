#include "gateway/http/trusted_proxies.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace livecommerce::gateway {
namespace {

TrustedProxies Proxies(absl::string_view list) {
  absl::StatusOr<TrustedProxies> proxies = TrustedProxies::Parse(list);
  EXPECT_TRUE(proxies.ok()) << proxies.status();
  return proxies.ok() ? *proxies : TrustedProxies();
}

bool Trusts(const TrustedProxies& proxies, absl::string_view address) {
  std::optional<IpAddress> parsed = IpAddress::Parse(address);
  EXPECT_TRUE(parsed.has_value()) << address;
  return parsed.has_value() && proxies.Trusts(*parsed);
}

TEST(TrustedProxiesTest, ParsesIpv4AndIpv6Cidrs) {
  TrustedProxies proxies =
      Proxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8, 2001:db8:1::/48, 0.0.0.0/0");
  EXPECT_TRUE(Trusts(proxies, "10.255.3.4"));
  EXPECT_TRUE(Trusts(proxies, "192.168.1.7"));
  EXPECT_TRUE(Trusts(proxies, "fd12:3456::1"));
  EXPECT_TRUE(Trusts(proxies, "2001:db8:1:ffff::9"));
  EXPECT_FALSE(Trusts(proxies, "2001:db8:2::1"));
  EXPECT_FALSE(Trusts(proxies, "fe80::1"));
  // 0.0.0.0/0 is every IPv4 address, and only those.
  EXPECT_TRUE(Trusts(proxies, "203.0.113.9"));
  EXPECT_FALSE(Trusts(proxies, "2001:db8:3::1"));
}

TEST(TrustedProxiesTest, PrefixBoundaries) {
  TrustedProxies proxies = Proxies("172.16.0.0/12,2001:db8::/33");
  EXPECT_TRUE(Trusts(proxies, "172.16.0.0"));
  EXPECT_TRUE(Trusts(proxies, "172.31.255.255"));
  EXPECT_FALSE(Trusts(proxies, "172.32.0.0"));
  EXPECT_FALSE(Trusts(proxies, "172.15.255.255"));
  EXPECT_TRUE(Trusts(proxies, "2001:db8:7fff::1"));
  EXPECT_FALSE(Trusts(proxies, "2001:db8:8000::1"));
}

TEST(TrustedProxiesTest, MappedIpv4MatchesIpv4Ranges) {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
  TrustedProxies proxies = Proxies("127.0.0.0/8");
  EXPECT_TRUE(Trusts(proxies, "::ffff:127.0.0.1"));
  EXPECT_FALSE(Trusts(proxies, "::1"));
  EXPECT_EQ(proxies.ClientAddress("::ffff:127.0.0.1", {"198.51.100.4"}), "198.51.100.4");
  EXPECT_EQ(TrustedProxies().ClientAddress("::ffff:203.0.113.5", {}), "203.0.113.5");
}

TEST(TrustedProxiesTest, EmptyTrustsNobody) {
  TrustedProxies proxies = Proxies("");
  EXPECT_TRUE(proxies.empty());
  EXPECT_TRUE(Proxies("  ").empty());
  EXPECT_FALSE(Trusts(proxies, "127.0.0.1"));
  EXPECT_EQ(proxies.ClientAddress("127.0.0.1", {"198.51.100.4"}), "127.0.0.1");
}

TEST(TrustedProxiesTest, MalformedEntriesNameTheVariableAndTheEntry) {
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                          "10.0.0/8", "proxy.internal", "10.0.0.0/8,,10.1.0.0/16", "10.0.0.0/8,",
                          "10.0.0.1/8", "fd00::1/8", "[fd00::]/8", "10.0.0.0/ 8"}) {
    absl::StatusOr<TrustedProxies> proxies = TrustedProxies::Parse(bad);
    ASSERT_FALSE(proxies.ok()) << bad;
    EXPECT_EQ(proxies.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(proxies.status().message().find("LC_GATEWAY_TRUSTED_PROXIES"),
              absl::string_view::npos)
        << proxies.status();
  }
  absl::StatusOr<TrustedProxies> proxies = TrustedProxies::Parse("10.0.0.0/8, 10.0.0.0/33");
  ASSERT_FALSE(proxies.ok());
  EXPECT_NE(proxies.status().message().find("'10.0.0.0/33'"), absl::string_view::npos)
      << proxies.status();
}

TEST(TrustedProxiesTest, SpoofedHeaderFromAnUntrustedPeerIsIgnored) {
  TrustedProxies proxies = Proxies("10.0.0.0/8");
  EXPECT_EQ(proxies.ClientAddress("203.0.113.7", {"10.0.0.1"}), "203.0.113.7");
  EXPECT_EQ(proxies.ClientAddress("203.0.113.7", {"198.51.100.1, 10.0.0.2"}), "203.0.113.7");
  EXPECT_EQ(proxies.ClientAddress("2001:db8::7", {"198.51.100.1"}), "2001:db8::7");
}

TEST(TrustedProxiesTest, RightMostUntrustedAddressIsTheClient) {
  TrustedProxies proxies = Proxies("10.0.0.0/8, fd00::/8");
  // The ingress appended the address that connected to it; what the client wrote is further left.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"1.2.3.4, 198.51.100.9"}), "198.51.100.9");
  // Two trusted hops: the CDN edge (10.1.1.1) passed on the client.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"6.6.6.6, 198.51.100.9, 10.1.1.1"}), "198.51.100.9");
  // Several header fields are one list, in order.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"6.6.6.6", "2001:db8::42", "fd00::3"}),
            "2001:db8::42");
  // Ports and brackets that some proxies add.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"198.51.100.9:41234"}), "198.51.100.9");
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"[2001:db8::42]:443"}), "2001:db8::42");
  // Canonical text, whatever the header wrote.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"2001:DB8:0:0::42"}), "2001:db8::42");
}

TEST(TrustedProxiesTest, NoHeaderOrOnlyTrustedHops) {
  TrustedProxies proxies = Proxies("10.0.0.0/8");
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {}), "10.0.0.5");
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {""}), "10.0.0.5");
  // Every hop trusted: the left-most is as far as anyone can tell.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"10.9.9.9, 10.1.1.1"}), "10.9.9.9");
}

TEST(TrustedProxiesTest, MalformedEntryStopsAtTheProxyThatPassedItOn) {
  TrustedProxies proxies = Proxies("10.0.0.0/8");
  // Garbage where the client's address should be: the trusted peer is as far as we can trust.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"not-an-ip"}), "10.0.0.5");
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"unknown, 10.1.1.1"}), "10.1.1.1");
  // Garbage further left, written by the client, changes nothing.
  EXPECT_EQ(proxies.ClientAddress("10.0.0.5", {"evil;drop, 198.51.100.9"}), "198.51.100.9");
}

TEST(TrustedProxiesTest, LoadsFromTheEnvironment) {
  setenv("LC_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8,fd00::/8", 1);
  absl::StatusOr<TrustedProxies> loaded = LoadTrustedProxies();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->empty());
  setenv("LC_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8,everyone", 1);
  loaded = LoadTrustedProxies();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("LC_GATEWAY_TRUSTED_PROXIES: 'everyone'"),
            absl::string_view::npos)
      << loaded.status();
  unsetenv("LC_GATEWAY_TRUSTED_PROXIES");
  loaded = LoadTrustedProxies();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
}

}  // namespace
}  // namespace livecommerce::gateway
