# Termux package recipe for port-run (termux-packages build.sh format).
# port-run needs root at run time (Magisk or KernelSU `su`): namespaces, mounts and cgroups
# are root-only on Android. Build with the Swift SDK for Android (see cross/README.md).
# The two addresses below are placeholders until the project publishes release tarballs.
TERMUX_PKG_HOMEPAGE=https://github.com/port-run/port-run
TERMUX_PKG_DESCRIPTION="OCI container runtime (runc drop-in) that works on old and Android kernels"
TERMUX_PKG_LICENSE="Apache-2.0"
TERMUX_PKG_MAINTAINER="@port-run"
TERMUX_PKG_VERSION=0.1.0
TERMUX_PKG_SRCURL=https://github.com/port-run/port-run/archive/refs/tags/v${TERMUX_PKG_VERSION}.tar.gz
TERMUX_PKG_SHA256=SKIP_CHECKSUM
TERMUX_PKG_DEPENDS="libseccomp, libcap"
TERMUX_PKG_BUILD_DEPENDS="swift"
TERMUX_PKG_BUILD_IN_SRC=true
TERMUX_PKG_NO_STATICSPLIT=true

termux_step_make() {
	termux_setup_swift
	swift build -c release --swift-sdk "$SWIFT_TARGET_TRIPLE" \
		-Xswiftc -static-stdlib \
		-Xcc -I"$TERMUX_PREFIX/include" -Xlinker -L"$TERMUX_PREFIX/lib"
}

termux_step_make_install() {
	install -Dm700 "$(swift build -c release --swift-sdk "$SWIFT_TARGET_TRIPLE" --show-bin-path)/port-run" \
		"$TERMUX_PREFIX/bin/port-run"
	# The persona data for `port-run check --simulate`.
	install -d "$TERMUX_PREFIX/share/port-run/personas"
	install -m644 kernel-quirks/personas/* "$TERMUX_PREFIX/share/port-run/personas/"
	# State lives here: Android has no /run.
	install -d "$TERMUX_PREFIX/var/run/port-run"
}
