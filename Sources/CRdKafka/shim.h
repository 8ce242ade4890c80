#ifndef CROSSREC_CRDKAFKA_SHIM_H
#define CROSSREC_CRDKAFKA_SHIM_H
// The consumer/producer API and the in-process mock cluster used as the dev broker.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
