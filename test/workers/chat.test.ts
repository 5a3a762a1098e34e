import { describeModules } from './modules'

describeModules(import.meta.glob('./chat/*.ts'))
