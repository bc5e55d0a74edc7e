/** The most worker processes `serve --workers` starts (and `install --workers` renders). */
export const MAX_WORKERS = 64
