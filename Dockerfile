# syntax=docker/dockerfile:1
# The `provlog` binary on a slim Debian, running as an unprivileged user. docker-compose.yml
# builds it as provlog:local; README, "docker compose", has the whole stack. No Docker engine
# runs in CI: .ci/run lints this file (hadolint) and tests/e2e/tests/stack.rs runs its
# ENTRYPOINT, CMD, HEALTHCHECK and ENV natively.

# The toolchain CI builds and tests with (the workspace's floor, rust-version, is 1.94.1).
# Bookworm on both sides: the binary links the builder's glibc, the runtime must not be older.
ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# .dockerignore lets in only the workspace, migrations and the contract interface + artifact.
COPY . .
# Cache mounts keep downloaded crates and compiled dependencies between builds, so a source
# change recompiles only provlog's crates (simpler than a dummy-source dependency layer for a
# seven-crate workspace). The binary is copied out: the target cache is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p provlog-cli --bin provlog \
    && install -m 0755 target/release/provlog /usr/local/bin/provlog

FROM debian:bookworm-slim
# ca-certificates: anchoring over an https RPC endpoint verifies it with the system roots.
# Not version-pinned (DL3008): Debian removes superseded versions from its archive, so a pin
# breaks the build at the next security update; the base image tag fixes the release.
# /var/lib/provlog/deployment is where the compose `deploy` service records the contract. It
# is world-writable with the sticky bit, like /tmp, because compose runs the containers as the
# owner of the mounted secrets (PROVLOG_UID), which is not known when the image is built.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /var/lib/provlog --shell /usr/sbin/nologin provlog \
    && install -d -o 10001 -g 10001 -m 0755 /var/lib/provlog \
    && install -d -o 10001 -g 10001 -m 1777 /var/lib/provlog/deployment
COPY --from=build /usr/local/bin/provlog /usr/local/bin/provlog
USER 10001:10001
WORKDIR /var/lib/provlog
# The binary's default (127.0.0.1:8080) is unreachable from outside a container.
ENV PROVLOG_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Ready means the database answers and a leader holds the lease (GET /readyz); the port comes
# from PROVLOG_LISTEN, so the check follows a changed listen address.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["provlog", "healthcheck"]
ENTRYPOINT ["provlog"]
CMD ["serve"]
