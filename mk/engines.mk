# Derivative engines (docs/engines.md): benchmarks against naive code and the reference tools.
.PHONY: bench bench-deps bench-video test-engines

# Real inputs (photos, a manual, music) and the reference tools the bench compares with.
BENCH_APT := ffmpeg libvips42 libvips-tools poppler-utils mate-backgrounds gnuplot-doc extremetuxracer-data

bench-deps: install ## the bench's real sources and reference tools (Debian packages, pyvips, librosa)
	@missing=$$(for p in $(BENCH_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	$(BIN)/pip install -q -e 'services/worker-thumbnails[vips]' 'librosa>=0.10'

bench: bench-deps ## engine medians, peak RSS and ratios vs naive code, pyvips, pdftoppm, ffmpeg (BENCH_ARGS="--full")
	$(BIN)/python -m bench.engines.run $(BENCH_ARGS)

# The worker image's own ffmpeg (docker/build-ffmpeg.sh), built on this machine for bench-video.
FFMPEG_LOCAL := var/ffmpeg-image
$(FFMPEG_LOCAL)/bin/ffprobe: docker/build-ffmpeg.sh bench/ffmpeg/build-local.sh
	@missing=$$(for p in gcc make nasm pkg-config libdav1d-dev zlib1g-dev dpkg-dev; do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	sh bench/ffmpeg/build-local.sh $(FFMPEG_LOCAL)

bench-video: bench-deps $(FFMPEG_LOCAL)/bin/ffprobe ## video frames vs `ffmpeg -ss`, with Debian's ffmpeg and the image's (BENCH_ARGS="--full")
	$(BIN)/python -m bench.engines.run --only video --ffmpeg-dir $(FFMPEG_LOCAL)/bin $(BENCH_ARGS)

test-engines: install ## the engines' unit tests and corpus (no services)
	$(BIN)/pytest tests/unit/test_mediatypes.py tests/unit/test_render_*.py
