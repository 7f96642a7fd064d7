/* The C side of Plimsoll's VIP sets: libipset (the library behind the ipset tool). */
#ifndef PLIMSOLL_CIPSET_SHIM_H
#define PLIMSOLL_CIPSET_SHIM_H
#include <libipset/ipset.h>
#include <libipset/session.h>
#include <libipset/types.h>
#include <libipset/data.h>
#include <libipset/parse.h>
#include <libipset/print.h>
#include <libipset/utils.h>
#endif
