#!/bin/sh
# make.sh regenerates the tool-made files in this directory (the tests never run it).
# Needs Debian's imagemagick, webp and libimage-exiftool-perl. The hand-built hostile files
# (pixel bombs, zero sizes, APNG) come from `go test ./imaging -run TestGenerateTestdata -gen`.
set -eu
cd "$(dirname "$0")"
IM=/usr/bin/convert
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# A photo-like 640x480 JPEG with real camera-style EXIF: Orientation 6 (stored sideways),
# GPS position, a description with control and non-ASCII bytes, plus XMP, IPTC, a comment
# and an ICC profile (which stripping must keep).
$IM -size 640x480 -seed 7 plasma:red-blue -blur 0x1 -quality 85 \
    -profile /usr/share/color/icc/ghostscript/srgb.icc "$T/p.jpg"
exiftool -q -overwrite_original -n \
    -Make=Canon -Model="Canon EOS 600D" -DateTimeOriginal="2021:06:01 12:00:00" \
    -ModifyDate="2021:06:01 12:00:00" -Orientation=6 \
    -GPSLatitude=48.8583 -GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E \
    -ImageDescription="$(printf '  Eiffel\001 tower \303\274ber  ')" \
    -XMP-dc:Title="xmp title" -IPTC:Keywords=secret -Comment="a comment" "$T/p.jpg"
cp "$T/p.jpg" jpeg-exif-orientation6-gps.jpg

# Small JPEG without any EXIF (150x103, no medium).
$IM -size 150x103 gradient:yellow-navy -strip -quality 90 jpeg-plain.jpg
# Progressive CMYK JPEG: keeps its Adobe APP14 segment, needed to decode the colours.
$IM -size 300x200 -seed 3 plasma: -colorspace CMYK -interlace JPEG -strip -quality 80 jpeg-cmyk-progressive.jpg
# Polyglot: a valid JPEG followed by a zip archive.
printf 'PK\003\004hidden payload after EOI' > "$T/tail"
cat jpeg-plain.jpg "$T/tail" > jpeg-polyglot-zip.jpg

# PNGs: an opaque 600x375 (medium 500x313) and an RGBA one carrying text/time/EXIF chunks.
$IM -size 600x375 gradient:green-white -strip png-600x375.png
$IM -size 200x100 radial-gradient:'rgba(255,0,0,1)'-'rgba(0,0,255,0)' \
    -set comment "png comment" -define png:include-chunk=tEXt,zTXt,iTXt,tIME PNG32:png-alpha-text.png
exiftool -q -overwrite_original -GPSLatitude=10 -GPSLatitudeRef=N -Artist=someone png-alpha-text.png

# GIFs: a static one and a 3-frame 600x400 animation (medium 500x333).
$IM -size 120x80 xc:orange -fill blue -draw 'circle 60,40 60,10' gif-static.gif
$IM -size 600x400 xc:red xc:lime \( -size 600x400 xc:none -fill blue -draw 'rectangle 100,100 300,300' \) \
    -set delay 20 -loop 0 gif-animated-600x400.gif

# WebP: lossy 700x508 (medium 500x363), lossless, lossy with alpha + EXIF + XMP (VP8X),
# and animations: lossy frames with alpha (ALPH+VP8 inside ANMF) and a lossless one.
$IM -size 700x508 -seed 5 plasma: "$T/w.png"
cwebp -quiet -q 60 "$T/w.png" -o webp-lossy-700x508.webp
$IM -size 300x200 gradient:purple-pink "$T/l.png"
cwebp -quiet -lossless "$T/l.png" -o webp-lossless.webp
cwebp -quiet -q 70 png-alpha-text.png -o "$T/a.webp"
printf '<x:xmpmeta xmlns:x="adobe:ns:meta/">secret</x:xmpmeta>' > "$T/xmp"
exiftool -q -b -Exif jpeg-exif-orientation6-gps.jpg > "$T/exif"
webpmux -set exif "$T/exif" "$T/a.webp" -o "$T/b.webp"
webpmux -set xmp "$T/xmp" "$T/b.webp" -o webp-alpha-exif-xmp.webp
$IM -size 240x160 xc:none -fill red -draw 'circle 120,80 120,20' "$T/f1.png"
$IM -size 240x160 xc:none -fill blue -draw 'rectangle 20,20 220,140' "$T/f2.png"
img2webp -loop 0 -lossy -q 60 -d 100 "$T/f1.png" "$T/f2.png" -o webp-animated-alpha.webp
gif2webp -quiet gif-animated-600x400.gif -o webp-animated-600x400.webp

# BMP 300x188, stored as PNG.
$IM -size 300x188 gradient:teal-white -type TrueColor bmp3:bmp-300x188.bmp

# Refused formats.
$IM -size 64x64 xc:gray tiff-64x64.tif
$IM -size 32x32 xc:green ico-32x32.ico
$IM -size 64x64 xc:gray psd-64x64.psd
$IM -size 64x64 xc:gray heic-64x64.heic 2>/dev/null || true
$IM -size 64x64 xc:gray avif-64x64.avif 2>/dev/null || true

# Not images.
printf 'hello, this is not an image\n' > text.txt
printf 'hello, this is not an image either\n' > text-named.jpg
printf '<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>\n' > page.html
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>\n' > image.svg
: > empty.jpg

# Truncated copies of valid files.
head -c 700 jpeg-plain.jpg > jpeg-truncated.jpg
head -c 300 png-600x375.png > png-truncated.png
