# syntax=docker/dockerfile:1
# The cafe-demo image for those who build with Docker or BuildKit:
#   docker build -f build/cafe-demo.Dockerfile -t cafe-demo:dev .
# It matches what `make images` assembles without Docker (a static binary at
# /cafe-demo and Debian's CA bundle on scratch, user 65532), but CI
# builds only `make images`; this file is not built by CI.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags '-s -w' -o /out/cafe-demo ./cmd/cafe-demo

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title=cafe-demo \
      org.opencontainers.image.source=https://github.com/cafe-dev/cafe \
      org.opencontainers.image.version=${VERSION}
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/cafe-demo /cafe-demo
USER 65532:65532
ENTRYPOINT ["/cafe-demo"]
