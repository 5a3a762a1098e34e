import { describeModules } from './modules'

describeModules(import.meta.glob('./platform/*.ts'))
