import { describeModules } from './modules'

describeModules(import.meta.glob('./profiles/*.ts'))
