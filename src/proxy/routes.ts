// The route table `run` decides with: the broker's, so `authsome route` and the library explain
// exactly the decision the proxy makes (src/broker/route-table.ts).
export { RouteTable, type Route, type Decision, type Candidate } from '../broker/index.ts';
