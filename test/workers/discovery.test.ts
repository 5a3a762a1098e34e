import { describeModules } from './modules'

describeModules(import.meta.glob('./discovery/*.ts'))
