export * from './accounts'
export * from './jobs'
export * from './reference'
export * from './profiles'
