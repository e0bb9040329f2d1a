# The worker image's weight and start (docs/kubernetes.md "Images"): benchmarks, not tests.
.PHONY: bench-coldstart bench-ffmpeg

COLDSTART_IMAGE ?= localhost/sequoia-worker-thumbnails:bench

bench-coldstart: system-packages install ## podman run of the thumbnails worker image to its first task taken; image and pull size
	$(BIN)/python -m bench.coldstart.run --image $(COLDSTART_IMAGE) $(BENCH_ARGS)

bench-ffmpeg: system-packages install ## the image's ffmpeg vs Debian's: codec coverage through our renderers, decode speed
	$(BIN)/python -m bench.ffmpeg.run --image $(COLDSTART_IMAGE) $(BENCH_ARGS)
