import { describeModules } from './modules'

describeModules(import.meta.glob('./operators/*.ts'))
