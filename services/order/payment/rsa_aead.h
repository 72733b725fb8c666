#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_pkey_st;

namespace livecommerce::order {

// A parsed RSA key (private, or public only) held by OpenSSL. Copies share the key, which is
// immutable and safe to use from several threads. WeChat Pay API v3 keys are RSA of at least
// 2048 bits; smaller keys are refused.
class RsaKey final {
 public:
  // A PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") PEM. INVALID_ARGUMENT otherwise.
  static absl::StatusOr<RsaKey> FromPrivateKeyPem(absl::string_view pem);
  // A "PUBLIC KEY" or "RSA PUBLIC KEY" PEM, or an X.509 "CERTIFICATE" PEM whose key is taken.
  // INVALID_ARGUMENT otherwise.
  static absl::StatusOr<RsaKey> FromPublicKeyPem(absl::string_view pem);

  bool has_private_key() const { return has_private_; }
  // The public half as a "PUBLIC KEY" PEM.
  std::string PublicKeyPem() const;

  // RSASSA-PKCS1-v1_5 with SHA-256 over `message`, raw signature bytes. FAILED_PRECONDITION when
  // this is a public key; INTERNAL when OpenSSL fails.
  absl::StatusOr<std::string> SignSha256(absl::string_view message) const;
  // True only when `signature` (raw bytes) is a valid RSA-SHA256 PKCS#1 v1.5 signature of
  // `message` under this key.
  bool VerifySha256(absl::string_view message, absl::string_view signature) const;

 private:
  RsaKey(std::shared_ptr<evp_pkey_st> key, bool has_private)
      : key_(std::move(key)), has_private_(has_private) {}

  std::shared_ptr<evp_pkey_st> key_;
  bool has_private_ = false;
};

// When `pem` is an X.509 certificate: its serial number as uppercase hex (no leading zeros
// beyond what the DER holds), as WeChat Pay names platform certificates. NOT_FOUND when `pem` is
// not a certificate.
absl::StatusOr<std::string> CertificateSerialHex(absl::string_view pem);

inline constexpr size_t kAes256KeyBytes = 32;
inline constexpr size_t kGcmTagBytes = 16;

// AES-256-GCM (RFC 5116 AEAD_AES_256_GCM) with a 16-byte tag. Seal returns ciphertext||tag.
// INVALID_ARGUMENT for a key that is not 32 bytes or an empty nonce.
absl::StatusOr<std::string> AesGcmSeal(absl::string_view key, absl::string_view nonce,
                                       absl::string_view associated_data,
                                       absl::string_view plaintext);
// Opens ciphertext||tag. UNAUTHENTICATED when the tag does not match (wrong key, nonce,
// associated data or altered ciphertext); INVALID_ARGUMENT for malformed sizes.
absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view nonce,
                                       absl::string_view associated_data, absl::string_view sealed);

}  // namespace livecommerce::order
