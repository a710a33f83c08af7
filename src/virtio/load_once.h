/* SPDX-License-Identifier: MIT */
/*
 * Reading and writing memory a client shares with us: each field once,
 * never again by the compiler, so the value checked is the value used.
 */
#ifndef VNP_LOAD_ONCE_H
#define VNP_LOAD_ONCE_H

#include <endian.h>
#include <stdint.h>

/* Loads from client memory go through these: one access, never repeated
 * by the compiler, so the value checked is the value used. */
#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define STORE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")
/* v's value stays the one already loaded: the compiler may not load it
 * again from where it came from. Unlike COMPILER_BARRIER, it leaves every
 * other value it holds in registers alone. */
#define KEEP_LOADED(v) __asm__("" : "+r"(v))

/* Little-endian fields of client memory, each loaded once. */
static inline uint64_t load_le64_once(const void *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof v);
	KEEP_LOADED(v);
	return le64toh(v);
}

static inline uint32_t load_le32_once(const void *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof v);
	KEEP_LOADED(v);
	return le32toh(v);
}

static inline uint16_t load_le16_once(const void *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof v);
	KEEP_LOADED(v);
	return le16toh(v);
}

/* A packed descriptor's id and flags (in bits 16-31), the flags loaded
 * first: what the driver wrote before the flags it is seen with. x86 keeps
 * an aligned load whole and loads in order, so one load of both does;
 * elsewhere, two with a barrier between. */
static inline uint32_t load_id_flags_once(const void *desc)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t v;

	__builtin_memcpy(&v, (const uint8_t *)desc + 12, sizeof v);
	KEEP_LOADED(v);
	return le32toh(v);
#else
	uint32_t flags = load_le16_once((const uint8_t *)desc + 14);

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return flags << 16 | load_le16_once((const uint8_t *)desc + 12);
#endif
}

#endif
