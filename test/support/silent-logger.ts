// A logger that drops everything, for tests that do not look at the log.
import { createLogger, type Logger } from '../../services/logger.ts';

export const silentLogger: Logger = createLogger({ level: 'silent' });
