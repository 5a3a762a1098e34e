import { describeModules } from './modules'

describeModules(import.meta.glob('./media/*.ts'))
