#include "services/order/payment/rsa_aead.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"

namespace livecommerce::order {
namespace {

constexpr int kMinRsaBits = 2048;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

BioPtr MemoryBio(absl::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return nullptr;
  }
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

absl::Status CheckRsa(EVP_PKEY* key) {
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("key is not an RSA key");
  }
  if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
    return absl::InvalidArgumentError("RSA key is shorter than 2048 bits");
  }
  return absl::OkStatus();
}

X509Ptr ReadCertificate(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) {
    return nullptr;
  }
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

}  // namespace

absl::StatusOr<RsaKey> RsaKey::FromPrivateKeyPem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) {
    return absl::InvalidArgumentError("private key is too large");
  }
  // An empty passphrase callback result makes an encrypted key fail instead of prompting.
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  if (raw == nullptr) {
    return absl::InvalidArgumentError("not an unencrypted PEM private key");
  }
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  absl::Status rsa = CheckRsa(key.get());
  if (!rsa.ok()) {
    return rsa;
  }
  return RsaKey(std::move(key), true);
}

absl::StatusOr<RsaKey> RsaKey::FromPublicKeyPem(absl::string_view pem) {
  EVP_PKEY* raw = nullptr;
  if (pem.find("-----BEGIN CERTIFICATE-----") != absl::string_view::npos) {
    X509Ptr cert = ReadCertificate(pem);
    if (cert == nullptr) {
      return absl::InvalidArgumentError("not a valid PEM certificate");
    }
    raw = X509_get_pubkey(cert.get());
  } else {
    // The decoder accepts both SubjectPublicKeyInfo ("PUBLIC KEY") and PKCS#1 ("RSA PUBLIC KEY").
    OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, "RSA",
                                                           EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
    if (dctx != nullptr) {
      const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
      size_t len = pem.size();
      if (OSSL_DECODER_from_data(dctx, &data, &len) != 1) {
        raw = nullptr;
      }
      OSSL_DECODER_CTX_free(dctx);
    }
  }
  if (raw == nullptr) {
    return absl::InvalidArgumentError("not a PEM public key or certificate");
  }
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  absl::Status rsa = CheckRsa(key.get());
  if (!rsa.ok()) {
    return rsa;
  }
  return RsaKey(std::move(key), false);
}

std::string RsaKey::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    return "";
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> RsaKey::SignSha256(absl::string_view message) const {
  if (!has_private_) {
    return absl::FailedPreconditionError("signing needs a private key");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError("RSA signing failed");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError("RSA signing failed");
  }
  signature.resize(len);
  return signature;
}

bool RsaKey::VerifySha256(absl::string_view message, absl::string_view signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

absl::StatusOr<std::string> CertificateSerialHex(absl::string_view pem) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == absl::string_view::npos) {
    return absl::NotFoundError("not a certificate");
  }
  X509Ptr cert = ReadCertificate(pem);
  if (cert == nullptr) {
    return absl::InvalidArgumentError("not a valid PEM certificate");
  }
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
  if (bn == nullptr) {
    return absl::InternalError("cannot read certificate serial");
  }
  char* hex = BN_bn2hex(bn);
  BN_free(bn);
  if (hex == nullptr) {
    return absl::InternalError("cannot read certificate serial");
  }
  std::string out = absl::AsciiStrToUpper(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<std::string> AesGcmSeal(absl::string_view key, absl::string_view nonce,
                                       absl::string_view associated_data,
                                       absl::string_view plaintext) {
  if (key.size() != kAes256KeyBytes) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  if (nonce.empty() || !FitsInt(nonce.size()) || !FitsInt(associated_data.size()) ||
      !FitsInt(plaintext.size())) {
    return absl::InvalidArgumentError("AES-256-GCM nonce or input size is out of range");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  std::string out(plaintext.size() + kGcmTagBytes, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1) {
    return absl::InternalError("AES-GCM setup failed");
  }
  if (!associated_data.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1) {
    return absl::InternalError("AES-GCM failed");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), out_bytes, &len,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1) {
      return absl::InternalError("AES-GCM failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out_bytes + written, &len) != 1) {
    return absl::InternalError("AES-GCM failed");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          out_bytes + written) != 1) {
    return absl::InternalError("AES-GCM failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view nonce,
                                       absl::string_view associated_data,
                                       absl::string_view sealed) {
  if (key.size() != kAes256KeyBytes) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  if (sealed.size() < kGcmTagBytes) {
    return absl::InvalidArgumentError("AES-256-GCM ciphertext is shorter than its tag");
  }
  if (nonce.empty() || !FitsInt(nonce.size()) || !FitsInt(associated_data.size()) ||
      !FitsInt(sealed.size())) {
    return absl::InvalidArgumentError("AES-256-GCM nonce or input size is out of range");
  }
  absl::string_view cipher = sealed.substr(0, sealed.size() - kGcmTagBytes);
  std::string tag(sealed.substr(sealed.size() - kGcmTagBytes));
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  std::string out(cipher.size(), '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1) {
    return absl::InternalError("AES-GCM setup failed");
  }
  if (!associated_data.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1) {
    return absl::InternalError("AES-GCM failed");
  }
  int written = 0;
  if (!cipher.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), out_bytes, &len,
                          reinterpret_cast<const unsigned char*>(cipher.data()),
                          static_cast<int>(cipher.size())) != 1) {
      return absl::InternalError("AES-GCM failed");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          tag.data()) != 1) {
    return absl::InternalError("AES-GCM failed");
  }
  // The tag is checked here; nothing decrypted is returned unless it matches.
  if (EVP_DecryptFinal_ex(ctx.get(), out_bytes + written, &len) != 1) {
    return absl::UnauthenticatedError("encrypted resource failed authentication");
  }
  written += len;
  out.resize(static_cast<size_t>(written));
  return out;
}

}  // namespace livecommerce::order
