# picbed in a container: a static binary on an empty base, run as a
# non-root user, its data in the /data volume. Not built by CI (no Docker
# engine there); the binary inside is the one `go build` makes anywhere.
#   docker build -t picbed .
#   docker run -d -p 8080:8080 -v picbed-data:/data picbed
#   docker exec -it CONTAINER /picbed user add alice --admin
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no libc), reproducible paths, the commit stamped for `picbed
# version`, time zones built in (the empty base has no /usr/share/zoneinfo).
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -tags timetzdata -o /picbed . \
 && mkdir -p /data

FROM scratch
# CA roots for URL uploads over https.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /picbed /picbed
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
ENV PICBED_DATA=/data PICBED_ADDR=:8080
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/picbed"]
CMD ["serve"]
