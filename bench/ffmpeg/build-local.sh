#!/bin/sh
# The worker image's ffmpeg and ffprobe (docker/build-ffmpeg.sh) built on this machine, for the
# engine bench's --ffmpeg-dir: what users run, measured beside Debian's without building the image.
# Debian's source comes through a private APT configuration with deb-src enabled; the system's is
# left alone. Usage: build-local.sh PREFIX   (PREFIX/bin/ffmpeg and PREFIX/bin/ffprobe)
set -eu
prefix=$(realpath -m "$1")
apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial"
sed 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources > "$apt_dir/parts/debian.sources"
printf 'Dir::Etc::SourceList "/dev/null";\nDir::Etc::SourceParts "%s/parts";\nDir::State::Lists "%s/lists";\n' \
  "$apt_dir" "$apt_dir" > "$apt_dir/apt.conf"
export APT_CONFIG="$apt_dir/apt.conf"
apt-get update -qq
sh "$(dirname "$0")/../../docker/build-ffmpeg.sh" "$prefix"
