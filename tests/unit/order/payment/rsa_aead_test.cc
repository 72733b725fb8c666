#include "services/order/payment/rsa_aead.h"

#include <string>

#include "gtest/gtest.h"
#include "services/common/crypto.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order {
namespace {

using testing::MakeCertificate;
using testing::MerchantKey;
using testing::OtherKey;

const std::string kKey = "0123456789abcdef0123456789abcdef";  // 32 bytes
const std::string kNonce = "abcdefghijkl";                    // 12 bytes

TEST(Base64Test, MatchesRfc4648Vectors) {
  EXPECT_EQ(common::Base64Encode(""), "");
  EXPECT_EQ(common::Base64Encode("f"), "Zg==");
  EXPECT_EQ(common::Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(common::Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(common::Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(common::Base64Encode("\xfb\xff"), "+/8=");
  std::string out;
  ASSERT_TRUE(common::Base64Decode("Zm9vYg==", &out));
  EXPECT_EQ(out, "foob");
  ASSERT_TRUE(common::Base64Decode("+/8=", &out));
  EXPECT_EQ(out, "\xfb\xff");
}

TEST(Base64Test, RoundTripsEveryLength) {
  for (size_t n = 0; n < 40; ++n) {
    std::string data = common::RandomBytes(n);
    std::string decoded;
    ASSERT_TRUE(common::Base64Decode(common::Base64Encode(data), &decoded)) << n;
    EXPECT_EQ(decoded, data) << n;
  }
}

TEST(Base64Test, RefusesMalformedInput) {
  std::string out;
  EXPECT_FALSE(common::Base64Decode("Zm9", &out));       // not a multiple of 4
  EXPECT_FALSE(common::Base64Decode("Zm9v-_==", &out));  // url-safe alphabet
  EXPECT_FALSE(common::Base64Decode("Zm==Zm9v", &out));  // padding inside
  EXPECT_FALSE(common::Base64Decode("Zm9vYmFy====", &out));
  EXPECT_FALSE(common::Base64Decode("Zh==", &out));  // non-zero leftover bits
  EXPECT_FALSE(common::Base64Decode("Zm9v\n", &out));
}

TEST(RsaKeyTest, SignVerifyRoundTrip) {
  absl::StatusOr<RsaKey> priv = RsaKey::FromPrivateKeyPem(MerchantKey().private_pem);
  ASSERT_TRUE(priv.ok()) << priv.status();
  absl::StatusOr<RsaKey> pub = RsaKey::FromPublicKeyPem(MerchantKey().public_pem);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_TRUE(priv->has_private_key());
  EXPECT_FALSE(pub->has_private_key());

  absl::StatusOr<std::string> sig = priv->SignSha256("hello\n");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 256u);
  EXPECT_TRUE(pub->VerifySha256("hello\n", *sig));
  EXPECT_TRUE(priv->VerifySha256("hello\n", *sig));
  EXPECT_FALSE(pub->VerifySha256("hello", *sig));
  std::string flipped = *sig;
  flipped[10] ^= 1;
  EXPECT_FALSE(pub->VerifySha256("hello\n", flipped));
  EXPECT_FALSE(pub->VerifySha256("hello\n", ""));

  absl::StatusOr<RsaKey> other = RsaKey::FromPublicKeyPem(OtherKey().public_pem);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->VerifySha256("hello\n", *sig));
  EXPECT_EQ(priv->PublicKeyPem(), MerchantKey().public_pem);
}

TEST(RsaKeyTest, PublicKeyCannotSign) {
  absl::StatusOr<RsaKey> pub = RsaKey::FromPublicKeyPem(MerchantKey().public_pem);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->SignSha256("x").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RsaKeyTest, AcceptsCertificateAndReadsItsSerial) {
  testing::CertificateSpec spec;
  spec.common_name = "Tenpay platform";
  spec.serial_hex = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
  testing::TestCertificate cert = MakeCertificate(MerchantKey().private_pem, spec, nullptr);
  absl::StatusOr<RsaKey> pub = RsaKey::FromPublicKeyPem(cert.cert_pem);
  ASSERT_TRUE(pub.ok()) << pub.status();
  absl::StatusOr<RsaKey> priv = RsaKey::FromPrivateKeyPem(MerchantKey().private_pem);
  ASSERT_TRUE(priv.ok());
  EXPECT_TRUE(pub->VerifySha256("m", *priv->SignSha256("m")));
  absl::StatusOr<std::string> serial = CertificateSerialHex(cert.cert_pem);
  ASSERT_TRUE(serial.ok()) << serial.status();
  EXPECT_EQ(*serial, spec.serial_hex);
  EXPECT_EQ(CertificateSerialHex(MerchantKey().public_pem).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(RsaKeyTest, RefusesGarbageAndShortKeys) {
  EXPECT_FALSE(RsaKey::FromPrivateKeyPem("not a key").ok());
  EXPECT_FALSE(RsaKey::FromPublicKeyPem("not a key").ok());
  EXPECT_FALSE(RsaKey::FromPrivateKeyPem(MerchantKey().public_pem).ok());
  testing::TestKeyPair small = testing::GenerateRsaKeyPair(1024);
  EXPECT_EQ(RsaKey::FromPrivateKeyPem(small.private_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaKey::FromPublicKeyPem(small.public_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AesGcmTest, SealOpenRoundTrip) {
  for (size_t n : {0u, 1u, 15u, 16u, 17u, 1000u}) {
    std::string plaintext = common::RandomBytes(n);
    absl::StatusOr<std::string> sealed = AesGcmSeal(kKey, kNonce, "transaction", plaintext);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), n + kGcmTagBytes);
    absl::StatusOr<std::string> opened = AesGcmOpen(kKey, kNonce, "transaction", *sealed);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, plaintext);
  }
}

// NIST GCM test case 14 (AES-256, zero key, zero 96-bit IV, one zero block).
TEST(AesGcmTest, MatchesKnownVector) {
  std::string key(32, '\0');
  std::string iv(12, '\0');
  std::string plaintext(16, '\0');
  absl::StatusOr<std::string> sealed = AesGcmSeal(key, iv, "", plaintext);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(common::HexEncode(*sealed),
            "cea7403d4d606b6e074ec5d3baf39d18"
            "d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(AesGcmTest, RefusesTamperingWithTagCipherNonceOrAad) {
  absl::StatusOr<std::string> sealed = AesGcmSeal(kKey, kNonce, "aad", "{\"a\":1}");
  ASSERT_TRUE(sealed.ok());
  std::string bad_tag = *sealed;
  bad_tag.back() ^= 0x01;
  EXPECT_EQ(AesGcmOpen(kKey, kNonce, "aad", bad_tag).status().code(),
            absl::StatusCode::kUnauthenticated);
  std::string bad_cipher = *sealed;
  bad_cipher[0] ^= 0x01;
  EXPECT_EQ(AesGcmOpen(kKey, kNonce, "aad", bad_cipher).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AesGcmOpen(kKey, kNonce, "aaa", *sealed).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AesGcmOpen(kKey, kNonce, "", *sealed).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AesGcmOpen(kKey, "abcdefghijkm", "aad", *sealed).status().code(),
            absl::StatusCode::kUnauthenticated);
  std::string other_key = kKey;
  other_key[0] = 'X';
  EXPECT_EQ(AesGcmOpen(other_key, kNonce, "aad", *sealed).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AesGcmOpen(kKey, kNonce, "aad", sealed->substr(0, 15)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AesGcmSeal("short", kNonce, "", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace livecommerce::order
