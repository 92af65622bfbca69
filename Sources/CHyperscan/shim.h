#ifndef PALISADE_CHYPERSCAN_SHIM_H
#define PALISADE_CHYPERSCAN_SHIM_H

/* Hyperscan (Debian libhyperscan-dev, pkg-config libhs): the L7 proxy's matcher. */
#include <hs/hs.h>

#endif
