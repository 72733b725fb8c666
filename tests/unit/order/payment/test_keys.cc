#include "tests/unit/order/payment/test_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace livecommerce::order::testing {
namespace {

[[noreturn]] void Fail(const char* what) { throw std::runtime_error(what); }

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

EVP_PKEY* ReadPrivateKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    Fail("cannot read test private key");
  }
  return key;
}

X509* ReadCertificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    Fail("cannot read test certificate");
  }
  return cert;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) {
    Fail("cannot add certificate extension");
  }
  X509_EXTENSION_free(ext);
}

}  // namespace

TestKeyPair GenerateRsaKeyPair(int bits) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (key == nullptr) {
    Fail("RSA key generation failed");
  }
  TestKeyPair pair;
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  if (PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub, key) != 1) {
    Fail("PEM encoding failed");
  }
  pair.private_pem = BioString(priv);
  pair.public_pem = BioString(pub);
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return pair;
}

const TestKeyPair& MerchantKey() {
  static const TestKeyPair* key = new TestKeyPair(GenerateRsaKeyPair());
  return *key;
}
const TestKeyPair& PlatformKey() {
  static const TestKeyPair* key = new TestKeyPair(GenerateRsaKeyPair());
  return *key;
}
const TestKeyPair& OtherKey() {
  static const TestKeyPair* key = new TestKeyPair(GenerateRsaKeyPair());
  return *key;
}

TestCertificate MakeCertificate(const std::string& subject_key_pem, const CertificateSpec& spec,
                                const TestCertificate* issuer) {
  EVP_PKEY* subject_key = ReadPrivateKey(subject_key_pem);
  EVP_PKEY* issuer_key = issuer != nullptr ? ReadPrivateKey(issuer->key_pem) : subject_key;
  X509* issuer_cert = issuer != nullptr ? ReadCertificate(issuer->cert_pem) : nullptr;

  X509* cert = X509_new();
  X509_set_version(cert, 2);
  BIGNUM* serial = nullptr;
  if (BN_hex2bn(&serial, spec.serial_hex.c_str()) == 0) {
    Fail("bad serial");
  }
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(spec.valid_days) * 86400);
  X509_set_pubkey(cert, subject_key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert, issuer_cert != nullptr ? X509_get_subject_name(issuer_cert) : name);
  X509* issuer_for_ext = issuer_cert != nullptr ? issuer_cert : cert;
  AddExtension(cert, issuer_for_ext, NID_subject_key_identifier, "hash");
  AddExtension(cert, issuer_for_ext, NID_authority_key_identifier, "keyid:always");
  if (spec.is_ca) {
    AddExtension(cert, issuer_for_ext, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert, issuer_for_ext, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert, issuer_for_ext, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert, issuer_for_ext, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    AddExtension(cert, issuer_for_ext, NID_ext_key_usage, "serverAuth");
  }
  if (!spec.subject_alt_names.empty()) {
    std::string sans;
    for (const std::string& san : spec.subject_alt_names) {
      sans += (sans.empty() ? "" : ",") + san;
    }
    AddExtension(cert, issuer_for_ext, NID_subject_alt_name, sans);
  }
  if (X509_sign(cert, issuer_key, EVP_sha256()) == 0) {
    Fail("certificate signing failed");
  }
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  TestCertificate result{BioString(out), subject_key_pem};
  BIO_free(out);
  X509_free(cert);
  if (issuer_cert != nullptr) {
    X509_free(issuer_cert);
    EVP_PKEY_free(issuer_key);
  }
  EVP_PKEY_free(subject_key);
  return result;
}

}  // namespace livecommerce::order::testing
