// The package version, fixed at build time by esbuild's define.
declare const __PROGRESS_VERSION__: string;
export const VERSION: string = typeof __PROGRESS_VERSION__ === 'string' ? __PROGRESS_VERSION__ : '0.0.0-dev';
