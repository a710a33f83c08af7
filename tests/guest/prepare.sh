#!/bin/sh
# Prepare (once, cached outside the tree) a tiny Linux guest for the real-client
# tests: Debian's kernel unpacked with dpkg -x, and a busybox-static initramfs
# whose init loads the virtio modules and runs a role from the kernel command
# line. Prints a directory holding vmlinuz and initramfs.cpio.gz.
# Needs: apt-get, busybox-static, cpio; ethtool (optional: the multiqueue
# scenarios change a guest's queue pairs with it, and skip without it).
#
# The cache is shared by every checkout of the project (worktrees, the demo),
# and they may run guests at the same time with different versions of
# init.sh: each version gets an initramfs of its own (initramfs-STAMP/),
# built aside and renamed into place, so no guest ever boots a half-written
# or another version's initramfs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${VNET_P2P_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vnet-p2p-guest}
mkdir -p "$cache"
cd "$cache"

if [ ! -f kernel.ready ]; then
	# The newest 6.1 kernel image Debian 12 has.
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6[^ ]*-amd64\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n1 | cut -d' ' -f1)
	rm -rf kernel ./*.deb
	apt-get download "$pkg" >/dev/null 2>&1 || (cd /tmp && apt-get download "$pkg" >/dev/null && mv /tmp/"$pkg"_*.deb "$cache"/)
	dpkg -x ./"$pkg"_*.deb kernel
	rm -f ./*.deb
	touch kernel.ready
fi
vmlinuz=$(ls kernel/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
ln -sf "$vmlinuz" vmlinuz

# Debian's ethtool with the shared libraries it links (busybox has no
# ethtool; the guest kernel is Debian 12's, the same userland ABI as here).
ethtool=$(command -v ethtool 2>/dev/null || true)
[ -x /usr/sbin/ethtool ] && ethtool=/usr/sbin/ethtool
stamp=$(cat "$here/init.sh" /bin/busybox ${ethtool:+"$ethtool"} | md5sum | cut -d' ' -f1)
out=initramfs-$stamp
if [ ! -f "$out/initramfs.cpio.gz" ]; then
	build=$(mktemp -d "$cache/.build.XXXXXX")
	root=$build/root
	mkdir -p "$root/bin" "$root/modules" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for m in net/core/failover drivers/net/net_failover drivers/virtio/virtio_ring \
		drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/net/virtio_net; do
		f=kernel/lib/modules/$kver/kernel/$m.ko
		if [ -f "$f" ]; then
			cp "$f" "$root/modules/"
		elif [ -f "$f.xz" ]; then
			xz -dc "$f.xz" >"$root/modules/$(basename "$m").ko"
		fi
	done
	if [ -n "$ethtool" ]; then
		mkdir -p "$root/usr/sbin"
		cp "$ethtool" "$root/usr/sbin/ethtool"
		# Every library ldd names by path (the loader included), where it
		# names it.
		for lib in $(ldd "$ethtool" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	fi
	cp "$here/init.sh" "$root/init"
	chmod +x "$root/init"
	mkdir "$build/out"
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$build/out/initramfs.cpio.gz"
	ln -s "../$vmlinuz" "$build/out/vmlinuz"
	# Whoever renames first wins; a concurrent build of the same version
	# is the same bytes and is thrown away.
	mv -T "$build/out" "$out" 2>/dev/null || true
	rm -rf "$build"
fi
# Versions not used for a week go.
touch "$out"
find . -maxdepth 1 -name 'initramfs-*' -type d -mtime +7 -exec rm -rf {} + 2>/dev/null || true
echo "$cache/$out"
