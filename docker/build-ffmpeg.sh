#!/bin/sh
# Build ffmpeg and ffprobe from the Debian source package of the base's release (the FFmpeg and the
# security patches of Debian's own ffmpeg package) with only what the renderers use: the demuxers
# of sequoia_core.mediatypes, the decoders of the codecs those containers carry, raw video and PCM
# out to a pipe, the file and pipe protocols. No --enable-gpl: FFmpeg under the LGPL-2.1+, with
# Debian's libdav1d (BSD-2-Clause, shared) for AV1. docs/engines.md, "ffmpeg in the worker image".
# apt checks the source files against the signed Sources index.
# Usage: build-ffmpeg.sh PREFIX   (bin/ffmpeg, bin/ffprobe, share/doc/ffmpeg/ land under PREFIX)
set -eu
prefix=$1
work=$(mktemp -d)
cd "$work"
apt-get source -q --download-only ffmpeg >/dev/null
dsc=$(ls ffmpeg_*.dsc)
debian_version=${dsc#ffmpeg_}
debian_version=${debian_version%.dsc}
dpkg-source -q --no-check -x "$dsc" src >/dev/null
cd src
video="h264 hevc vp8 vp9 libdav1d mpeg1video mpeg2video mpeg4 h263 msmpeg4v3 mjpeg prores dnxhd dvvideo theora rawvideo"
audio="aac mp2 mp3 mp3float flac opus vorbis alac ac3 eac3 adpcm_ima_wav adpcm_ms
 pcm_alaw pcm_mulaw pcm_u8 pcm_s16le pcm_s16be pcm_s24le pcm_s24be pcm_s32le pcm_f32le pcm_f64le"
parsers="h264 hevc vp8 vp9 av1 mpeg4video mpegvideo mpegaudio aac ac3 flac opus vorbis"
# What ffmpeg's command line inserts by itself: format conversion, autorotate, -t and -ss trimming.
filters="scale setsar format aformat aresample null anull trim atrim transpose hflip vflip"
list() { echo "$2" | tr -s ' \n' '\n' | sed "/^$/d; s/^/--enable-$1=/"; }
# shellcheck disable=SC2046 # the lists split into one option per component on purpose
./configure --prefix="$prefix" --extra-version="${debian_version#*-}.sequoia" \
  --disable-everything --disable-autodetect --disable-doc --disable-debug --disable-network \
  --disable-ffplay --disable-avdevice --disable-postproc --enable-zlib --enable-libdav1d \
  --enable-protocol=file,pipe --enable-demuxer=mov,avi,matroska,mp3,wav,aac,ogg \
  --enable-encoder=rawvideo,pcm_s16le --enable-muxer=rawvideo,pcm_s16le \
  $(list decoder "$video $audio") $(list parser "$parsers") $(list filter "$filters") 2>&1 >/dev/null | tee warnings
# configure only warns about a component name that matches nothing: a misspelt one must fail here.
if grep -q "did not match anything" warnings; then exit 1; fi
make -j"$(nproc)" ffmpeg ffprobe >/dev/null
install -D -m 0755 -t "$prefix/bin" ffmpeg ffprobe
install -D -m 0644 -t "$prefix/share/doc/ffmpeg" COPYING.LGPLv2.1 LICENSE.md
{ echo "FFmpeg from Debian's source package ffmpeg $debian_version (apt-get source ffmpeg=$debian_version),"
  echo "built by docker/build-ffmpeg.sh of Sequoia with:"; ./ffmpeg -hide_banner -buildconf; } \
  > "$prefix/share/doc/ffmpeg/SOURCE"
cd / && rm -rf "$work"
