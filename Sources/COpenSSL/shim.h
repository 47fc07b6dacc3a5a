#ifndef SKM_COPENSSL_SHIM_H
#define SKM_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* Function-like macros are not imported into Swift; these wrappers make them callable. */
static inline long skm_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
static inline STACK_OF(X509) *skm_x509_stack_new(void) { return sk_X509_new_null(); }
static inline int skm_x509_stack_push(STACK_OF(X509) *stack, X509 *certificate) { return sk_X509_push(stack, certificate); }
static inline void skm_x509_stack_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
static inline void skm_openssl_free(void *pointer) { OPENSSL_free(pointer); }

#endif
