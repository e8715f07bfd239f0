# syntax=docker/dockerfile:1
# The cafe-controller image for those who build with Docker or BuildKit:
#   docker build -f build/cafe-controller.Dockerfile -t cafe-controller:dev .
# It matches what `make images` assembles without Docker (a static binary at
# /cafe-controller and Debian's CA bundle on scratch, user 65532), but CI
# builds only `make images`; this file is not built by CI.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags '-s -w' -o /out/cafe-controller ./cmd/cafe-controller

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title=cafe-controller \
      org.opencontainers.image.source=https://github.com/cafe-dev/cafe \
      org.opencontainers.image.version=${VERSION}
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/cafe-controller /cafe-controller
USER 65532:65532
ENTRYPOINT ["/cafe-controller"]
