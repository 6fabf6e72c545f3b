// The label sets a business profile is classified over (zero-shot, with the
// embedding model). Part of the API: documented in the README. Each label has
// a description written as the kind of text such a business's site contains.

/** Kinds of business, by how they sell. */
export const BUSINESS_TYPES = {
  'SaaS': 'Software as a service: a subscription web application for businesses, with plans, a free trial, sign-up and reports.',
  'E-commerce': 'Online shop selling physical products: add to cart, checkout, shipping, delivery and returns.',
  'Marketplace': 'Marketplace connecting buyers and sellers, listings from many vendors, hosts and guests, commissions.',
  'Agency': 'Agency or professional services firm: consulting, design, marketing or development work for clients, case studies.',
  'Media': 'Media and publishing: news, magazine articles, podcasts and videos for readers and subscribers.',
  'Developer tools': 'Developer tools and APIs: SDKs, libraries, infrastructure, code and documentation for programmers.',
  'Consumer app': 'Consumer app for personal use: download it on the App Store or Google Play, for you and your family.',
  'Non-profit': 'Non-profit organisation or charity: donate, volunteer, our mission and community impact.',
  'Education': 'Education and training: courses, lessons, students, teachers, schools and certificates.',
  'Local business': 'Local business with a physical location: opening hours, visit our shop, book an appointment, directions.',
  'Financial services': 'Financial services: banking, payments, cards, loans, insurance and investment accounts.',
  'Healthcare': 'Healthcare provider: clinics, doctors, patients, treatments, appointments and care.',
} as const;

/** Industry sectors: the 11 sectors of the Global Industry Classification Standard (GICS). */
export const INDUSTRY_SECTORS = {
  'Energy': 'Energy: oil, gas, coal, drilling, refining, pipelines and energy equipment.',
  'Materials': 'Materials: chemicals, construction materials, containers and packaging, metals, mining, paper and forest products.',
  'Industrials': 'Industrials: aerospace, defence, machinery, construction, engineering, logistics, transportation, airlines and business services.',
  'Consumer Discretionary': 'Consumer discretionary: retail, e-commerce, cars, hotels, restaurants, travel, leisure, apparel and household durables.',
  'Consumer Staples': 'Consumer staples: food, beverages, farming and agricultural products, groceries, household and personal products.',
  'Health Care': 'Health care: hospitals, clinics, medical devices, pharmaceuticals, biotechnology and health insurance.',
  'Financials': 'Financials: banks, payments, lending, insurance, accounting, investment and capital markets.',
  'Information Technology': 'Information technology: software, cloud services, IT consulting, computers, semiconductors and electronic equipment.',
  'Communication Services': 'Communication services: telecom, media, publishing, entertainment, games, advertising and social networks.',
  'Utilities': 'Utilities: electricity, gas and water supply, renewable power producers.',
  'Real Estate': 'Real estate: property development, rentals, real estate agents and property management.',
} as const;

/** Who a business sells to. */
export const TARGET_AUDIENCES = {
  'Small and medium businesses': 'Small and medium businesses, independent shops, owners running a small team or family business.',
  'Large enterprises': 'Large enterprises and corporations: security, compliance, single sign-on, procurement and many teams.',
  'Software developers': 'Software developers and engineers who write code, use APIs, SDKs and the command line.',
  'Consumers': 'Consumers and households: individuals and families buying for personal use.',
  'Students and educators': 'Students, teachers, schools and universities.',
  'Healthcare professionals': 'Doctors, nurses, clinics and healthcare professionals.',
  'Finance and accounting teams': 'Accountants, bookkeepers and finance teams: invoices, ledgers, tax and cash flow.',
  'Marketing and sales teams': 'Marketing and sales teams: leads, campaigns, customers and conversion.',
  'Creators and freelancers': 'Creators, artists and freelancers who sell their own work.',
  'Farmers and food producers': 'Farmers, growers, orchards, food producers and farm shops.',
  'Public sector and non-profits': 'Governments, public agencies, charities and non-profit organisations.',
} as const;

/** What the extractive profile looks for in a site's sentences. */
export const SENTENCE_PROMPTS = {
  valueProposition: 'What the product does and the main benefit it gives its customers.',
  uniqueSellingPoints: 'A feature or advantage that sets it apart: built specifically for its customers, unlike other tools.',
  painPoints: 'The problem, frustration or challenge customers struggle with: slow, manual, costly, error-prone, hard work.',
} as const;
