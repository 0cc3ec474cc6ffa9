/** Container logs in the CRI format, written by the shim from Docker's json-file copy. */
export { DOCKER_LOG_CONFIG, LogManager, type LogManagerOptions, type PreparedLog } from './manager.js';
export { demuxFrames, DemuxError, type Frame, type FrameStream } from '../docker-demux.js';
