# syntax=docker/dockerfile:1.7
#
# infernode container images, two targets from one file (build context: the repository root):
#
#   docker build --target gpu -t infernode:gpu .   # CUDA 12 + cuDNN 9, ONNX Runtime's CUDA provider
#   docker build --target cpu -t infernode:cpu .   # CPU provider only
#
# Both run as a non-root user on a read-only root filesystem; job scratch goes to /scratch, which must be
# memory-backed (docker: --tmpfs /scratch; Kubernetes: an emptyDir with medium: Memory). See docs/operations.md.

ARG NODE_VERSION=20.20.2
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# ---- build: node-gyp toolchain (python3, make, g++ come with the full Debian image) --------------------
FROM node:${NODE_VERSION}-bookworm AS build-base
# node-gyp builds against the headers the image ships instead of downloading them
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY . .

# `npm ci` builds the native addon (binding.gyp), compiles TypeScript and writes the bundled fixture
# models (the `prepare` script); dev dependencies are then dropped so the runtime copies only what runs.
FROM build-base AS build-cpu
RUN --mount=type=cache,target=/root/.npm \
    npm ci && npm prune --omit=dev

# onnxruntime-node's install script fetches the CUDA 12 execution provider when asked to; the variable
# wins over the repository's .npmrc, which skips it for CPU-only development machines.
FROM build-base AS build-gpu
RUN --mount=type=cache,target=/root/.npm \
    ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci && npm prune --omit=dev \
 && test -e node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

# ---- runtime: CPU ------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS cpu
RUN groupadd --system --gid 10001 infernode \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin infernode \
 && mkdir -p /scratch && chown 10001:10001 /scratch && chmod 0700 /scratch
WORKDIR /app
# Code stays owned by root: the daemon can read it, never change it.
COPY --from=build-cpu /src/package.json ./
COPY --from=build-cpu /src/bin ./bin
COPY --from=build-cpu /src/dist/src ./dist/src
COPY --from=build-cpu /src/build/Release/infernode_native.node ./build/Release/
COPY --from=build-cpu /src/node_modules ./node_modules
COPY --from=build-cpu /src/models ./models
ENV NODE_ENV=production \
    INFERNODE_HOST=0.0.0.0 \
    INFERNODE_PORT=8080 \
    INFERNODE_MODELS_DIR=/app/models \
    INFERNODE_SCRATCH_DIR=/scratch \
    INFERNODE_DEVICE=cpu
USER 10001:10001
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/infernode.js"]
CMD ["serve"]

# ---- runtime: GPU (CUDA 12 runtime, cuDNN 9) -----------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS node-binary

FROM ${CUDA_IMAGE} AS gpu
# Node's official binary is built for older glibc than Ubuntu 24.04's, so it runs here as is.
COPY --from=node-binary /usr/local/bin/node /usr/local/bin/node
# Ubuntu's ffmpeg is built with NVENC (h264_nvenc), which the bundled static ffmpeg lacks; it is found on PATH first.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 infernode \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin infernode \
 && mkdir -p /scratch && chown 10001:10001 /scratch && chmod 0700 /scratch
WORKDIR /app
COPY --from=build-gpu /src/package.json ./
COPY --from=build-gpu /src/bin ./bin
COPY --from=build-gpu /src/dist/src ./dist/src
COPY --from=build-gpu /src/build/Release/infernode_native.node ./build/Release/
COPY --from=build-gpu /src/node_modules ./node_modules
COPY --from=build-gpu /src/models ./models
# utility: NVML for the GPU metrics; video: NVENC for --video-encoder h264_nvenc
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,video \
    NODE_ENV=production \
    INFERNODE_HOST=0.0.0.0 \
    INFERNODE_PORT=8080 \
    INFERNODE_MODELS_DIR=/app/models \
    INFERNODE_SCRATCH_DIR=/scratch \
    INFERNODE_DEVICE=cuda:0
USER 10001:10001
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/infernode.js"]
CMD ["serve"]
